"""Fixtures of the cross-service end-to-end tests: services side by side, talking only through
events (defined in ``pair_support``, ``trio_support``, ``duo_support``, ``receiver_support`` and
``quintet_support``)."""

from browser_support import browser

from duo_support import duo
from pair_support import pair
from quintet_support import quintet
from receiver_support import receiver
from trio_support import trio

__all__ = ["browser", "duo", "pair", "quintet", "receiver", "trio"]
