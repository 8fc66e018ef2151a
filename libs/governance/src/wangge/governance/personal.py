"""Phone numbers and names as every service checks and masks them (DESIGN §6).

Validation uses Google's phonenumbers. The masks are what other services and most readers see of
a person: ``张**``, ``138****5678``.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from wangge.governance.errors import DomainError


def _mobile_pattern() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    mobile = metadata.mobile if metadata is not None else None
    if mobile is None or mobile.national_number_pattern is None:
        raise RuntimeError("phonenumbers has no mobile pattern for CN")
    return re.compile(mobile.national_number_pattern)


_MOBILE = _mobile_pattern()
"""Mainland mobile numbers, from the library's own metadata (its ranges, kept up to date)."""


def _phone_pattern() -> str:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    fixed = metadata.fixed_line if metadata is not None else None
    if fixed is None or fixed.national_number_pattern is None:
        raise RuntimeError("phonenumbers has no fixed-line pattern for CN")
    return rf"^(?:(?:\+86)?(?:{_MOBILE.pattern})|(?:\+86|0)(?:{fixed.national_number_pattern}))$"


PHONE_SCHEMA: dict[str, Any] = {"pattern": _phone_pattern()}
"""What a request's phone field states in the OpenAPI (``json_schema_extra``): a mainland mobile
(``13812345678``, ``+8613812345678``) or landline (``02583451234``), by the library's own
metadata, so a number the schema allows is one the service takes; the service also reads them
written with spaces, dashes or brackets, which the pattern leaves out."""


class InvalidPersonalData(DomainError):
    """An identity number, phone number or similar that cannot be right."""

    slug = "invalid-personal-data"
    title = "A personal data field is not valid"


def normalise_phone(text: str, *, field: str = "phone") -> str:
    """A valid mainland phone number (mobile or landline) in E.164 form (``+8613812345678``)."""
    value = text.strip()
    plain = _plain_mobile(value)
    if plain is not None:
        return plain
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPersonalData("this is no phone number", field=field) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPersonalData("this is no valid phone number", field=field)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _plain_mobile(value: str) -> str | None:
    """The E.164 form of a mobile number written as its 11 bare digits, the way a census sheet
    brings most of them; None for anything else, which the full parse decides.

    The full parse (carrier prefixes, punctuation, letters, extensions) costs about 20 µs and
    was a twentieth of a census import; this is the same decision for the common case, by the
    same metadata.
    """
    if len(value) == 11 and value.isascii() and value.isdigit() and _MOBILE.fullmatch(value):
        return "+86" + value
    return None


def mask_phone(e164: str) -> str:
    """First three and last four digits as dialled at home: ``138****5678``, ``025****1234``."""
    # from normalise_phone's E.164 form: mobiles start with 1, landlines get their trunk 0 back
    national = e164.removeprefix("+86")
    if not national.startswith("1"):
        national = "0" + national
    return national[:3] + "*" * (len(national) - 7) + national[-4:]


def mask_name(name: str) -> str:
    """The family name's first character and a star per other character: ``张**``."""
    return name[:1] + "*" * (len(name) - 1)
