"""Kept for ``tests/e2e/cases/test_whole_flow.py``, which imports ``CST`` from here: the figures
are read in ``projections/figures.py`` and China Standard Time is ``domain.metrics.CST``."""

from wangge.hotline_bridge.domain.metrics import CST

__all__ = ["CST"]
