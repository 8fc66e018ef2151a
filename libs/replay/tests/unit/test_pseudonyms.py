"""The export's keyed hash is HMAC-SHA-256, whatever way it is computed, and its memo never
changes a pseudonym."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest

from wangge.events import tuning
from wangge.replay import pseudonyms
from wangge.replay.native import compiled
from wangge.replay.pseudonyms import ExportKeyError, hmac_sha256, pseudonymiser


@pytest.mark.parametrize(
    ("key", "message", "expected"),
    [  # RFC 4231, test cases 2 (a short key) and 6 (a key longer than a block: hashed first)
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            b"\xaa" * 131,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ],
)
def test_the_keyed_hash_is_rfc_4231s_hmac_sha256(key: bytes, message: bytes, expected: str) -> None:
    assert hmac_sha256(key)(message) == expected


def test_a_pseudonym_is_the_hmac_of_the_id_whether_remembered_or_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pseudonyms, "MEMO", 3)  # emptied every third new value
    key = bytes(range(32))
    pseudonym = pseudonymiser(key)
    ids = [f"person-{n % 5}" for n in range(40)] + ["张三", ""]
    for value in ids:
        expected = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
        assert pseudonym(value) == expected


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ExportKeyError, match="16 bytes"):
        pseudonymiser(b"short")


@pytest.mark.parametrize("way", ["compiled", "python"])
def test_a_column_of_ids_gets_the_hmac_of_each_whichever_way_it_is_hashed(
    way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if way == "python":
        monkeypatch.setattr(tuning, "FAST_PATHS", tuning.FastPaths(native=False))
    assert (compiled() is not None) == (way == "compiled")
    key = bytes(range(100, 132))
    ids = [f"person-{n}" for n in range(50)] + ["张三的户", "", "x" * 300]
    expected = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:32] for v in ids]
    column = pa.array(ids, pa.string())
    assert pseudonymiser(key).column(column).to_pylist() == expected
    sliced = column.slice(7, 20)  # a column that starts inside its buffers
    assert pseudonymiser(key).column(sliced).to_pylist() == expected[7:27]
    assert pseudonymiser(key).column(pa.array([], pa.string())).to_pylist() == []
