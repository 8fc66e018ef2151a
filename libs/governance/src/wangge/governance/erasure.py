"""Erasure as every service that seals offers it (DESIGN §6): the legal ground an erasure is
recorded with, and the body a client sends it in.

Each service destroys its own data keys (crypto-shredding, :meth:`wangge.events.sealing.KeyRing.
destroy`) and records the erasure as an event of its own, carrying the ground and, through the
envelope, who asked: that event is the audit, the same in every service. The registry's
``PersonalDataErased`` is a fact the other services follow to shred what they sealed about the
same person.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class ErasureGround(StrEnum):
    """The legal grounds for deleting personal information (PIPL article 47)."""

    PURPOSE_ACHIEVED = "purpose_achieved"
    SERVICE_ENDED = "service_ended"
    RETENTION_EXPIRED = "retention_expired"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    UNLAWFUL_PROCESSING = "unlawful_processing"
    OTHER_LEGAL_GROUND = "other_legal_ground"


class Erasure(BaseModel):
    """The legal ground of an erasure (PIPL article 47)."""

    legal_ground: ErasureGround
