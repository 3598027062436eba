"""Feeds for mirroring and calendars: change feeds of collections (`changes`)."""
