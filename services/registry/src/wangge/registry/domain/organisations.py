"""Organisations (人地事物组织 — 组织): enterprises, social organisations and others at a place.

Each organisation is a stream of its own (``organisation-<uuid>``) and carries its unified social
credit code (统一社会信用代码, GB 32100-2015), checked with python-stdnum's ``cn.uscc`` and kept
in its compact form, so one code is one organisation whichever way it was typed. An organisation
sits at a grid, building or dwelling of the place tree, which gives it the scope access is checked
against. A closed organisation (注销, 歇业) stays on record and cannot change any more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from pydantic import Field
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as stdnum_uscc

from wangge.events import DomainEvent, default_catalogue
from wangge.registry.domain.identity import normalise_phone
from wangge.registry.domain.places import Place, PlaceKind
from wangge.service.errors import DomainError


class OrganisationKind(StrEnum):
    """What kind of organisation it is (企业, 社会组织, 事业单位, 机关, 个体工商户, 其他)."""

    ENTERPRISE = "enterprise"
    SOCIAL_ORGANISATION = "social_organisation"
    PUBLIC_INSTITUTION = "public_institution"
    GOVERNMENT_AGENCY = "government_agency"
    INDIVIDUAL_BUSINESS = "individual_business"
    OTHER = "other"


SITES = frozenset({PlaceKind.GRID, PlaceKind.BUILDING, PlaceKind.DWELLING})
"""The levels of the place tree an organisation sits at."""


# -- events ---------------------------------------------------------------------------------------


@default_catalogue.event("registry")
class OrganisationRegistered(DomainEvent):
    """An organisation was entered in the register at a place."""

    organisation_id: uuid.UUID
    uscc: str = Field(
        min_length=18, max_length=18, description="unified social credit code, GB 32100-2015"
    )
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    place_id: uuid.UUID = Field(description="the grid, building or dwelling it sits at")
    address: str | None = Field(default=None, max_length=400, description="as the caller wrote it")
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=20, description="E.164")


@default_catalogue.event("registry")
class OrganisationDetailsChanged(DomainEvent):
    """An organisation's name, kind, address or contact changed (the whole set is restated)."""

    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    address: str | None = Field(default=None, max_length=400)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=20, description="E.164")


@default_catalogue.event("registry")
class OrganisationMoved(DomainEvent):
    """An organisation moved to another place of the tree."""

    organisation_id: uuid.UUID
    place_id: uuid.UUID


@default_catalogue.event("registry")
class OrganisationClosed(DomainEvent):
    """An organisation closed (注销, 歇业) on a date; it stays on record."""

    organisation_id: uuid.UUID
    on: date
    reason: str = Field(min_length=1, max_length=500)


OrganisationEvent = (
    OrganisationRegistered | OrganisationDetailsChanged | OrganisationMoved | OrganisationClosed
)


# -- errors ---------------------------------------------------------------------------------------


class InvalidOrganisation(DomainError):
    """The command breaks a rule about organisations."""

    slug = "invalid-organisation"
    title = "The command breaks a rule about organisations"


# -- state and decisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    """An organisation as its events left it."""

    organisation_id: uuid.UUID
    uscc: str
    name: str
    kind: OrganisationKind
    place_id: uuid.UUID
    address: str | None
    contact_name: str | None
    contact_phone: str | None
    version: int
    closed_on: date | None = None

    @property
    def closed(self) -> bool:
        """Whether it closed (and so can no longer change)."""
        return self.closed_on is not None


def stream_id(organisation_id: uuid.UUID) -> str:
    """The organisation's stream."""
    return f"organisation-{organisation_id}"


def evolve(state: Organisation | None, event: DomainEvent, version: int) -> Organisation:
    """The organisation after one more of its events."""
    if isinstance(event, OrganisationRegistered):
        return Organisation(
            event.organisation_id,
            event.uscc,
            event.name,
            OrganisationKind(event.kind),
            event.place_id,
            event.address,
            event.contact_name,
            event.contact_phone,
            version,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before OrganisationRegistered")
    if isinstance(event, OrganisationDetailsChanged):
        return replace(
            state,
            name=event.name,
            kind=OrganisationKind(event.kind),
            address=event.address,
            contact_name=event.contact_name,
            contact_phone=event.contact_phone,
            version=version,
        )
    if isinstance(event, OrganisationMoved):
        return replace(state, place_id=event.place_id, version=version)
    if isinstance(event, OrganisationClosed):
        return replace(state, closed_on=event.on, version=version)
    raise ValueError(f"an organisation has no event {type(event).__name__}")


def check_uscc(text: str) -> str:
    """A valid unified social credit code in its compact form (``91320111MA1XXXXXX1``)."""
    try:
        return stdnum_uscc.validate(text)
    except stdnum_errors.InvalidLength:
        raise InvalidOrganisation(
            "a unified social credit code has 18 characters", field="uscc"
        ) from None
    except stdnum_errors.InvalidChecksum:
        raise InvalidOrganisation("the check character does not match", field="uscc") from None
    except stdnum_errors.ValidationError:
        raise InvalidOrganisation(
            "a unified social credit code has 8 digits, then digits or letters (no I, O, S, V, Z)",
            field="uscc",
        ) from None


def compact_uscc(text: str) -> str:
    """A code as the register keeps it (no spaces or dashes, upper case), to look it up."""
    return stdnum_uscc.compact(text)


def _contact_phone(text: str | None) -> str | None:
    return normalise_phone(text, field="contact_phone") if text and text.strip() else None


def _text(text: str | None) -> str | None:
    return (text.strip() or None) if text is not None else None


def _name(name: str) -> str:
    if not name.strip():
        raise InvalidOrganisation("an organisation needs a name", field="name")
    return name.strip()


def _site(place: Place) -> None:
    if place.kind not in SITES:
        raise InvalidOrganisation(
            f"an organisation sits at a grid, building or dwelling, not a {place.kind}",
            field="place_id",
        )


def _open(organisation: Organisation) -> None:
    if organisation.closed:
        raise InvalidOrganisation(
            f"the organisation closed on {organisation.closed_on}", field="organisation_id"
        )


def register(
    *,
    organisation_id: uuid.UUID,
    uscc: str,
    name: str,
    kind: OrganisationKind,
    place: Place,
    address: str | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
) -> list[OrganisationEvent]:
    """Decide the registration of an organisation at ``place``."""
    _site(place)
    return [
        OrganisationRegistered(
            organisation_id=organisation_id,
            uscc=check_uscc(uscc),
            name=_name(name),
            kind=kind,
            place_id=place.place_id,
            address=_text(address),
            contact_name=_text(contact_name),
            contact_phone=_contact_phone(contact_phone),
        )
    ]


def change_details(
    organisation: Organisation,
    *,
    name: str,
    kind: OrganisationKind,
    address: str | None,
    contact_name: str | None,
    contact_phone: str | None,
) -> list[OrganisationEvent]:
    """Decide new details; the same details again change nothing."""
    _open(organisation)
    changed = OrganisationDetailsChanged(
        organisation_id=organisation.organisation_id,
        name=_name(name),
        kind=kind,
        address=_text(address),
        contact_name=_text(contact_name),
        contact_phone=_contact_phone(contact_phone),
    )
    same = (
        changed.name == organisation.name
        and changed.kind == organisation.kind
        and changed.address == organisation.address
        and changed.contact_name == organisation.contact_name
        and changed.contact_phone == organisation.contact_phone
    )
    return [] if same else [changed]


def move(organisation: Organisation, to: Place) -> list[OrganisationEvent]:
    """Decide a move to another place; the same place again changes nothing."""
    _open(organisation)
    _site(to)
    if organisation.place_id == to.place_id:
        return []
    return [OrganisationMoved(organisation_id=organisation.organisation_id, place_id=to.place_id)]


def close(organisation: Organisation, *, on: date, reason: str) -> list[OrganisationEvent]:
    """Decide the closing of an organisation on a date."""
    _open(organisation)
    if not reason.strip():
        raise InvalidOrganisation("a closing needs its reason", field="reason")
    return [
        OrganisationClosed(
            organisation_id=organisation.organisation_id, on=on, reason=reason.strip()
        )
    ]
