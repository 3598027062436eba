"""Matching volunteers with the needs of projects: deterministic scores with their reasons."""
