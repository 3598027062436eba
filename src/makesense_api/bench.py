"""`make bench`: throughput and latency measurements against PostgreSQL.

The benchmark compares the GraphQL endpoint with a raw-SQL baseline; until the GraphQL surface
exists there is nothing to measure, and this command says so.
"""

import sys


def main() -> int:
    print("bench: no HTTP read surface to measure yet; the GraphQL benchmark lands with it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
