"""A clear copy of free text with the personal data a pattern can find masked (DESIGN §6).

Free text (a ticket's content, a case's description, a visit's note, a mediation summary) is
personal data until shown otherwise: the text itself is sealed with its subject's key, and only
this redacted copy travels in clear, for routing and work lists. Patterns find phone numbers
(mobile and landline, with ``+86``, spaces or dashes), identity numbers (18 and 15 digits),
licence plates, e-mail addresses and, as a catch-all, any other run of seven or more digits (bank
cards, QQ numbers, numbers written with odd separators). Names cannot be found by a pattern:
the names a service knows the text may mention (a ticket's caller, a case's outside parties)
are masked where they occur; any other is why the text is sealed and this copy only the clear
part.

Full-width digits and letters (``１３８``) are read as their ASCII forms, and the masks keep
no more than a mask shown elsewhere does (``138****5678``, ``320111********123X``), so a masked
value cannot be read back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from wangge.governance.personal import mask_name

_FULL_WIDTH = {
    **{0xFF10 + i: ord("0") + i for i in range(10)},
    **{0xFF21 + i: ord("A") + i for i in range(26)},
    **{0xFF41 + i: ord("a") + i for i in range(26)},
    0xFF0B: ord("+"),
    0xFF0D: ord("-"),
    0xFF20: ord("@"),
    0xFF0E: ord("."),
    0x3000: ord(" "),
}
"""Full-width forms to ASCII, one character for one, so a match's span is the original's."""

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_PLATE = re.compile(
    r"([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼])\s?([A-Z])"
    r"[\s·•.\-]?([A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳])"
)
_NUMBER = re.compile(
    r"(?<!\d)(\+|00)?(?:86[\s\-]?)?[(（]?\d{2,}(?:(?:[)）][\s\-]?|[\s\-.·])\d{3,8})*[Xx]?(?![\dXx])"
)
"""A run of digits as phone and card numbers are written: groups of three or more digits with
one separator between them (a date's two-digit groups end a run, so dates stay readable; a
group of nine or more digits after a separator starts a number of its own)."""


def _mask_email(m: re.Match[str]) -> str:
    local, _, domain = m.group(0).partition("@")
    return local[:1] + "***@" + domain


def _mask_plate(m: re.Match[str]) -> str:
    return m.group(1) + m.group(2) + "·" + "*" * (len(m.group(3)) - 1) + m.group(3)[-1]


def _mask_number(m: re.Match[str]) -> str:
    written = m.group(0)
    digits = "".join(c for c in written if c.isdigit() or c in "Xx")
    if len(digits) < 7:
        return written
    if m.group(1) == "00":
        digits = digits[2:]
    if len(digits) in (15, 18) and digits[:-1].isdigit():
        return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]  # an identity number
    if digits.startswith("86") and (m.group(1) or len(digits) == 13):
        digits = digits[2:]
        if not digits.startswith("1"):
            digits = "0" + digits  # a landline dialled from abroad drops its trunk 0
    if not digits.isdigit():
        return written  # an X ends nothing but an identity number
    keep = 3 if digits[0] in "01" and 10 <= len(digits) <= 12 else 2  # phones: 138****5678
    tail = 4 if keep == 3 else 2
    return digits[:keep] + "*" * (len(digits) - keep - tail) + digits[-tail:]


_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
"""An id the system made (a ticket's, a case's): never personal data, and its digit runs are
not numbers (``…-2886871f91c9`` is no phone)."""

_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_EMAIL, _mask_email),
    (_PLATE, _mask_plate),
    (_NUMBER, _mask_number),
)
"""In order: a later rule sees the earlier rules' masks, whose stars break its digit runs."""


def redact(text: str, *, names: Iterable[str | None] = ()) -> str:
    """``text`` with ``names`` (of two characters or more) and every phone number, identity
    number, plate, e-mail address and long digit run masked; the rest (what the matter is about,
    where) as written, but for full-width digits and letters, which come back in their ASCII
    forms."""
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))  # 欧阳明辉 before 欧阳
    text = text.translate(_FULL_WIDTH)
    kept = _UUID.findall(text)
    parts = _UUID.split(text)
    for pattern, mask in _RULES:
        parts = [pattern.sub(mask, part) for part in parts]
    return "".join(part + (kept[i] if i < len(kept) else "") for i, part in enumerate(parts))
