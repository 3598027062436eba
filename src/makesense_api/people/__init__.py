"""People (volunteer profiles), their optional accounts, and their chapter memberships."""
