"""Mutations, one module per domain: object-then-verb names, one `input:` argument each."""
