"""Mobilisation programs across chapters, and people's enrolments in them."""
