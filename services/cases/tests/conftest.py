"""Fixtures of the cases service's tests (defined in ``trio_support``)."""

from receiver_support import receiver
from trio_support import trio

__all__ = ["receiver", "trio"]
