"""Events hosted by chapters, recurring series, and people's registrations."""
