"""Seed data: a small realistic demo network, and a large synthetic one for load tests.

- `demo.seed_demo` builds a few dozen chapters across five regions, about 150 people, two
  partner organisations, twenty projects, events past and upcoming with registrations and
  check-ins, two programs with enrolments and the network's goals, so a newcomer's first run
  has something to browse. `demo.has_data` tells whether a database already holds data.
- `large.seed_large` bulk-loads thousands of chapters, hundreds of thousands of people, tens
  of thousands of projects and (`large_activity`) a hundred thousand events with a million
  registrations, for performance work on PostgreSQL.
"""

from makesense_api.seed import large_activity
from makesense_api.seed.demo import DemoSummary, has_data, seed_demo
from makesense_api.seed.large import LargeSeed, SeedStep, plan, register_step, seed_large

large_activity.register()

__all__ = [
    "DemoSummary",
    "LargeSeed",
    "SeedStep",
    "has_data",
    "plan",
    "register_step",
    "seed_demo",
    "seed_large",
]
