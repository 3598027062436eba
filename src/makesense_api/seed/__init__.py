"""Seed data: a small realistic demo network, and a large synthetic one for load tests.

- `demo.seed_demo` builds a few dozen chapters across five regions, about 150 people, two
  partner organisations and twenty projects through the real services, so a newcomer's first
  run has something to browse. `demo.has_data` tells whether a database already holds data.
- `large.seed_large` bulk-loads thousands of chapters, hundreds of thousands of people and tens
  of thousands of projects, for performance work on PostgreSQL.
"""

from makesense_api.seed.demo import DemoSummary, has_data, seed_demo
from makesense_api.seed.large import LargeSeed, SeedStep, plan, register_step, seed_large

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
