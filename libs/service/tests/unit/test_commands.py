"""If-Match headers name the version a client read."""

from __future__ import annotations

import pytest

from wangge.service.commands import BadPrecondition, etag, parse_if_match


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ('W/"3"', 3), ("3", 3), (None, None)])
def test_if_match_names_a_version(header: str | None, version: int | None) -> None:
    assert parse_if_match(header) == version


def test_an_etag_round_trips_through_if_match() -> None:
    assert parse_if_match(etag(17)) == 17


@pytest.mark.parametrize("header", ['"abc"', "-1", '"3", "4"'])
def test_an_if_match_that_names_no_version_is_refused_naming_the_header(header: str) -> None:
    with pytest.raises(BadPrecondition) as refused:
        parse_if_match(header)
    assert refused.value.field == "header/If-Match"
