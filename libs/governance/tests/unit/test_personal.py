"""Phone numbers: the shortcut for bare mobile numbers decides as the full parse does."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wangge.governance.personal import (
    PHONE_SCHEMA,
    InvalidPersonalData,
    _plain_mobile,
    normalise_phone,
)


def _by_the_library(text: str) -> str | None:
    """What phonenumbers alone says: the E.164 form, or None for no valid number."""
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _normalised(text: str) -> str | None:
    try:
        return normalise_phone(text)
    except InvalidPersonalData:
        return None


def test_every_eleven_digit_prefix_gets_the_library_s_answer() -> None:
    shortcut = 0
    for prefix in range(1000, 2000):  # every range starting with 1, including carrier prefixes
        for rest in ("0000000", "1234567", "5550123", "9999999"):
            number = f"{prefix}{rest}"
            assert _normalised(number) == _by_the_library(number), number
            shortcut += _plain_mobile(number) is not None
    assert shortcut > 1000  # the shortcut really decides the common case


FULL_WIDTH = "\uff11\uff13\uff18" + "\uff11" * 8
"""A mobile number typed with full-width digits (an input method's)."""


@pytest.mark.parametrize(
    "text", ["138 1234 5678", "+86 138-1234-5678", "025-83001234", FULL_WIDTH, "1381234567x"]
)
def test_anything_else_takes_the_full_parse(text: str) -> None:
    assert _plain_mobile(text) is None
    assert _normalised(text) == _by_the_library(text)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.from_regex(PHONE_SCHEMA["pattern"], fullmatch=True))
def test_a_phone_the_schema_allows_the_service_takes(phone: str) -> None:
    assert normalise_phone(phone).startswith("+86")
