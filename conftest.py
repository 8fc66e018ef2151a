"""Shared fixtures for every package's tests (real PostgreSQL and Kafka)."""

pytest_plugins = ["wangge.events.testing"]
