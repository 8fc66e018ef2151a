"""Fixtures of the registry's tests (defined in ``registry_support``)."""

from registry_support import registry, registry_settings

__all__ = ["registry", "registry_settings"]
