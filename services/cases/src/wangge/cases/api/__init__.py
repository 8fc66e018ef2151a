"""The cases service's HTTP API."""
