"""Fixtures of the hotline bridge's tests (defined in ``hotline_support`` and ``pair_support``)."""

from hotline_support import hotline, hotline_settings
from pair_support import pair
from receiver_support import receiver

__all__ = ["hotline", "hotline_settings", "pair", "receiver"]
