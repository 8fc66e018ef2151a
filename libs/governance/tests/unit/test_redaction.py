"""The clear copy of free text: what a pattern can find is masked, the rest reads as written."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wangge.governance.redaction import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("张三电话13812345678，住3号楼502室", "张三电话138****5678，住3号楼502室"),
        ("+86 138-1234-5678 找王五", "138****5678 找王五"),
        ("86-138-1234-5678", "138****5678"),
        ("0086 13812345678", "138****5678"),
        ("13812345678 13912345678", "138****5678 139****5678"),
        ("身份证320111199001011234找", "身份证320111********1234找"),
        ("32011119900101123X号", "320111********123X号"),
        ("座机025-83451234", "座机025****1234"),
        ("（025）8345 1234", "025****1234"),
        ("+86 25 8345 1234", "025****1234"),
        ("车牌苏A12345挡道", "车牌苏A·****5挡道"),
        ("苏A·D12345", "苏A·*****5"),
        ("邮箱 zhang.san@example.com", "邮箱 z***@example.com"),
        ("ＱＱ１２３４５６７８９", "QQ12*****89"),
        ("银行卡6222 0212 3456 7890 123", "银行卡62***************23"),
        ("2026-12-06 10:00 3号楼", "2026-12-06 10:00 3号楼"),
        ("2026年12月6日 编号 12345", "2026年12月6日 编号 12345"),
        (
            "12345 ticket 55e9ac75-c0c7-4e9f-bc9e-2886871f91c9 13812345678",
            "12345 ticket 55e9ac75-c0c7-4e9f-bc9e-2886871f91c9 138****5678",
        ),
    ],
)
def test_what_a_pattern_finds_is_masked(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_known_names_are_masked_wherever_the_text_mentions_them() -> None:
    text = "我是欧阳明辉，欧阳明说的不对，欧阳明辉电话13812345678"
    assert redact(text, names=["欧阳明辉", "欧阳明", None, "王"]) == (
        "我是欧***，欧**说的不对，欧***电话138****5678"
    )


def test_text_without_personal_data_is_unchanged() -> None:
    text = "楼道堆物影响通行，请尽快处理（3栋2单元）"
    assert redact(text) == text


@given(st.text(alphabet="0123456789 -+()（）年月号室栋abcXx１２３", max_size=60))
def test_no_run_of_seven_digits_survives(text: str) -> None:
    out = redact(text)
    ids = r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"  # kept whole
    assert not re.search(r"\d{7}", re.sub(ids, " ", out)), out
    assert redact(out) == out  # masking a masked text changes nothing
