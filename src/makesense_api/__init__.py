"""makesense-api: a headless API for a federation of citizen-engagement chapters."""

__version__ = "0.1.0"
