"""Data keys of the cases service: one per care plan (its resident's measurements) and one per
mediation party from outside the register (their name and phone), so erasing one person's data
never touches anyone else's."""

from __future__ import annotations

import sqlalchemy as sa

from wangge.events.sealing import KeyRing, key_table

metadata = sa.MetaData()
plan_keys = key_table(metadata, "care_plan_keys", "plan_id")
case_keys = key_table(metadata, "case_keys", "case_id")
party_keys = key_table(sa.MetaData(), "party_keys", "party_id")
"""On a metadata of its own: migration 0001 creates ``metadata``'s tables, 0003 this one."""


def plan_keyring(kek: bytes) -> KeyRing:
    """The key ring of care plans' health data."""
    return KeyRing(kek, plan_keys)


def case_keyring(kek: bytes) -> KeyRing:
    """The key ring of outside parties who joined a case before each had a key of their own
    (one key per case): erasing one of them erased them all."""
    return KeyRing(kek, case_keys)


def party_keyring(kek: bytes) -> KeyRing:
    """The key ring of mediation parties from outside the register, one key per party."""
    return KeyRing(kek, party_keys)
