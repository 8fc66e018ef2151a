"""Fixtures of the hotline bridge's tests (defined in ``hotline_support`` and ``core_support``)."""

from core_support import bridge

from hotline_support import hotline, hotline_settings

__all__ = ["bridge", "hotline", "hotline_settings"]
