"""The cases service's read models."""
