"""Fixtures of the training service's tests (defined in ``training_support``)."""

from training_support import duo

__all__ = ["duo"]
