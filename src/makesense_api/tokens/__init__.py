"""Opaque bearer tokens: personal access tokens, and the access and refresh tokens of OAuth."""
