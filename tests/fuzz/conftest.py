"""Fixtures of the OpenAPI fuzz tests: the services started as the cross-service end-to-end tests
start them (``trio_support``, ``duo_support``, ``quintet_support``); the tests pick the embedded
default."""

from duo_support import duo
from quintet_support import quintet
from trio_support import trio

__all__ = ["duo", "quintet", "trio"]
