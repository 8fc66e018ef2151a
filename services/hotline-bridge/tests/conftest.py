"""Fixtures of the hotline bridge's tests (defined in ``hotline_support``)."""

from hotline_support import hotline, hotline_settings

__all__ = ["hotline", "hotline_settings"]
