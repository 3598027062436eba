"""Entrepreneurs' projects, the help they need, and the contributions volunteers offer."""
