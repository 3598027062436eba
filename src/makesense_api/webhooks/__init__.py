"""Outgoing webhooks: endpoints, the outbox fan-out, signed deliveries and their log."""
