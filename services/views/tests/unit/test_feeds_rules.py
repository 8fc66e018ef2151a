"""The feeds' rules: the opaque cursor a department pages with."""

from __future__ import annotations

import pytest

from wangge.views.domain.feeds import (
    BadCursor,
    Cursor,
    CursorExpired,
    decode_cursor,
)


def test_a_cursor_reads_back_in_its_generation() -> None:
    text = Cursor(3, 41).encode()
    assert "." not in text and "3" not in text
    assert decode_cursor(text, generation=3) == 41


def test_a_cursor_of_a_rebuilt_generation_is_gone() -> None:
    with pytest.raises(CursorExpired) as raised:
        decode_cursor(Cursor(2, 41).encode(), generation=3)
    assert (raised.value.status, raised.value.field) == (410, "query/after")


@pytest.mark.parametrize("garbage", ["", "abc", "!!!", Cursor(3, 1).encode() + "x", "MC4x"])
def test_garbage_is_no_cursor(garbage: str) -> None:
    with pytest.raises(BadCursor) as raised:
        decode_cursor(garbage, generation=3)
    assert (raised.value.status, raised.value.field) == (422, "query/after")
