"""Partner organisations and the reach chapter admins grant them."""
