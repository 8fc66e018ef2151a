"""Identity numbers (GB 11643-1999), phone numbers and the masks other services see.

Validation uses python-stdnum's ``cn.ric`` (checksum, a real date of birth, a known region) and
Google's phonenumbers; the old 15-digit identity number is upgraded to 18 digits, the way the public
security bureau does it: century ``19`` inserted before the birth date, a check digit appended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric

from wangge.governance.personal import (
    InvalidPersonalData,
    mask_name,
    mask_phone,
    normalise_phone,
)

__all__ = [
    "IdentityNumber", "InvalidPersonalData", "Sex", "known_region", "mask_identity", "mask_name",
    "mask_phone", "normalise_phone", "parse_identity_number",
]  # fmt: skip


class Sex(StrEnum):
    """Sex as the identity number's 17th digit records it (odd: male)."""

    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class IdentityNumber:
    """A checked 18-digit identity number and what it says about its holder."""

    number: str
    birth_date: date
    sex: Sex

    @property
    def masked(self) -> str:
        """``320111********123X``: region and last four, as other services see it."""
        return mask_identity(self.number)


def parse_identity_number(
    text: str, *, today: date, field: str = "identity_number"
) -> IdentityNumber:
    """Check an identity number (18 digits, or 15 upgraded); the field names the input."""
    value = ric.compact(text.strip()).upper()
    if len(value) == 15 and value.isdigit():
        body = value[:6] + "19" + value[6:]
        value = body + ric.calc_check_digit(body + "0")  # it skips the last character
    # python-stdnum's validate() also wants the region to have existed in the birth year, which
    # refuses real numbers: region codes were given when cards were first issued (from 1984),
    # so people born before a district was created carry its code. We check the same parts,
    # but accept any region code GB/T 2260 ever had.
    if len(value) != 18 or not (value.isascii() and value[:-1].isdigit()):
        raise InvalidPersonalData(
            "an identity number has 18 characters (or the old 15 digits)", field=field
        )
    if value[-1] != ric.calc_check_digit(value):
        raise InvalidPersonalData("the check digit does not match", field=field)
    try:
        # what ric.get_birth_date reads, without cleaning the number twice more (imports)
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidPersonalData("the birth date in it is no real date", field=field) from None
    if not known_region(value[:6]):
        raise InvalidPersonalData("its region code is not in GB/T 2260", field=field)
    if birth > today or birth.year < 1890:
        raise InvalidPersonalData("the birth date in it cannot be right", field=field)
    sex = Sex.MALE if int(value[16]) % 2 else Sex.FEMALE
    return IdentityNumber(value, birth, sex)


@lru_cache(maxsize=8192)
def known_region(code: str) -> bool:
    """Whether a six-digit code was ever a county-level region of GB/T 2260."""
    return any("county" in props for _, props in numdb.get("cn/loc").info(code))


def mask_identity(number: str) -> str:
    """Region code and last four: ``320111********123X``."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
