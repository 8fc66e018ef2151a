"""The hotline bridge's HTTP API."""
