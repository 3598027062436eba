"""Shared plumbing: database, ids, clock, errors, validation, i18n, pagination."""
