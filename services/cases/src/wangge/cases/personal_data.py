"""Data keys of the cases service: one per care plan (its measurements) and one per case (its
outside parties), so erasing one person's data never touches anyone else's."""

from __future__ import annotations

import sqlalchemy as sa

from wangge.events.sealing import KeyRing, key_table

metadata = sa.MetaData()
plan_keys = key_table(metadata, "care_plan_keys", "plan_id")
case_keys = key_table(metadata, "case_keys", "case_id")


def plan_keyring(kek: bytes) -> KeyRing:
    """The key ring of care plans' health data."""
    return KeyRing(kek, plan_keys)


def case_keyring(kek: bytes) -> KeyRing:
    """The key ring of cases' outside parties."""
    return KeyRing(kek, case_keys)
