"""The views: each a projection with tables of its own, read from every service's events."""
