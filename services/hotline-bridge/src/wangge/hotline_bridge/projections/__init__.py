"""The hotline bridge's read models."""
