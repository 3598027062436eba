"""Impact: mobilised people per period, rolled up the chapter tree, against goals."""
