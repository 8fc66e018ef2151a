"""Organisations (人地事物组织 — 组织): enterprises, social organisations and others at a place.

Each organisation is a stream of its own (``organisation-<uuid>``) and carries its unified social
credit code (统一社会信用代码, GB 32100-2015), checked with python-stdnum's ``cn.uscc`` and kept
in its compact form, so one code is one organisation whichever way it was typed. An organisation
sits at a grid, building or dwelling of the place tree, which gives it the scope access is checked
against. A closed organisation (注销, 歇业) stays on record and cannot change any more.

An organisation's contact person is a data subject with a key of their own (``contact_id``):
their name and phone travel sealed (:class:`ContactDetails`), with masks in clear, and erasing
them destroys the key. A restated contact with the same name is the same person (same id and
key, say with a new phone); another name is another person, with a new id and key. Events
written before contacts were sealed carry ``contact_name`` and ``contact_phone`` in clear; such
a contact has the id :func:`legacy_contact_id` of its organisation, is erased by the same event
(read models drop what they kept of it), and is sealed under that id once restated.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as stdnum_uscc

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import DomainError, NotFound
from wangge.registry.domain.free_text import clear_copy
from wangge.registry.domain.identity import mask_name, mask_phone, normalise_phone
from wangge.registry.domain.places import Place, PlaceKind


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


class ContactDetails(BaseModel):
    """What a contact person's sealed block holds."""

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    phone: str | None = Field(default=None, description="E.164")


class _Contact(DomainEvent):
    """The contact person as an organisation's details state them."""

    contact_name: str | None = Field(
        default=None, max_length=100,
        description="in clear only in events written before contacts were sealed",
    )  # fmt: skip
    contact_phone: str | None = Field(
        default=None, max_length=20,
        description="E.164; in clear only in events written before contacts were sealed",
    )  # fmt: skip
    contact_id: uuid.UUID | None = Field(
        default=None, description="the contact person's id, whose data key seals `contact`"
    )
    contact: Sealed | None = Field(default=None, description="ContactDetails, sealed")
    contact_name_masked: str | None = Field(default=None, max_length=100, examples=["王**"])
    contact_phone_masked: str | None = Field(default=None, max_length=20, examples=["138****5678"])


@default_catalogue.event("registry")
class OrganisationRegistered(_Contact):
    """An organisation was entered in the register at a place."""

    organisation_id: uuid.UUID
    uscc: str = Field(
        min_length=18, max_length=18, description="unified social credit code, GB 32100-2015"
    )
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    place_id: uuid.UUID = Field(description="the grid, building or dwelling it sits at")
    address: str | None = Field(default=None, max_length=400, description="as the caller wrote it")


@default_catalogue.event("registry")
class OrganisationDetailsChanged(_Contact):
    """An organisation's name, kind, address or contact changed (the whole set is restated)."""

    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    address: str | None = Field(default=None, max_length=400)


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
    reason: str = Field(
        min_length=1, max_length=500, description="phone numbers and the like masked (redacted)"
    )


@default_catalogue.event("registry")
class OrganisationContactErased(DomainEvent):
    """A contact person's data key was destroyed: their sealed details are unreadable from now
    on (and a contact written in clear before sealing is dropped from every read)."""

    organisation_id: uuid.UUID
    contact_id: uuid.UUID
    legal_ground: ErasureGround


OrganisationEvent = (
    OrganisationRegistered
    | OrganisationDetailsChanged
    | OrganisationMoved
    | OrganisationClosed
    | OrganisationContactErased
)

LEGACY_CONTACTS = uuid.UUID("5b0c7f0e-2d1a-4c59-9a43-6f1e8f3c2a10")
"""The namespace of the ids given to contacts written in clear before contacts were sealed."""


def legacy_contact_id(organisation_id: uuid.UUID) -> uuid.UUID:
    """The id of the contact(s) an organisation's events carry in clear (written before
    sealing): one per organisation, as those events name no id."""
    return uuid.uuid5(LEGACY_CONTACTS, str(organisation_id))


# -- errors ---------------------------------------------------------------------------------------


class InvalidOrganisation(DomainError):
    """The command breaks a rule about organisations."""

    slug = "invalid-organisation"
    title = "The command breaks a rule about organisations"


class UnknownContact(NotFound):
    """No contact person of this organisation has the id."""


# -- state and decisions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    """An organisation as its events left it (its contact sealed, or in clear from old events)."""

    organisation_id: uuid.UUID
    uscc: str
    name: str
    kind: OrganisationKind
    place_id: uuid.UUID
    address: str | None
    version: int
    closed_on: date | None = None
    contact_id: uuid.UUID | None = None
    contact: Sealed | None = None
    contact_name_masked: str | None = None
    contact_phone_masked: str | None = None
    legacy_contact: ContactDetails | None = None
    """The contact as an event written before sealing carries it in clear (until erased)."""
    contacts: frozenset[uuid.UUID] = frozenset()
    """Every contact person it has had (erasable)."""
    erased_contacts: frozenset[uuid.UUID] = frozenset()

    @property
    def closed(self) -> bool:
        """Whether it closed (and so can no longer change)."""
        return self.closed_on is not None

    @property
    def contact_erased(self) -> bool:
        """Whether its current contact person was erased."""
        return self.contact_id is not None and self.contact_id in self.erased_contacts


@dataclass(frozen=True)
class ContactKey:
    """Seals a contact person's details under their data key (which the handler holds)."""

    contact_id: uuid.UUID
    seal: Seal


@dataclass(frozen=True)
class ContactKeys:
    """What a decision on a restated contact needs from the key ring."""

    current: ContactDetails | None = None
    """The current contact, opened (None: there is none, or they were erased)."""
    same: Seal | None = None
    """Seals under the current contact's id (the same person, restated)."""
    new: ContactKey | None = None
    """Seals under a new contact's id (another person)."""


def stream_id(organisation_id: uuid.UUID) -> str:
    """The organisation's stream."""
    return f"organisation-{organisation_id}"


def contact_state(event: _Contact, organisation_id: uuid.UUID) -> dict[str, Any]:
    """The contact an event states: id, sealed block, masks, and a clear contact from an event
    written before sealing (``legacy_contact``); read models keep the same."""
    legacy = None
    if event.contact_name or event.contact_phone:
        legacy = ContactDetails(name=event.contact_name, phone=event.contact_phone)
    contact_id = event.contact_id
    if contact_id is None and legacy is not None:
        contact_id = legacy_contact_id(organisation_id)
    return {
        "contact_id": contact_id,
        "contact": event.contact,
        "contact_name_masked": event.contact_name_masked
        or (mask_name(event.contact_name) if event.contact_name else None),
        "contact_phone_masked": event.contact_phone_masked
        or (mask_phone(event.contact_phone) if event.contact_phone else None),
        "legacy_contact": legacy,
    }


def _ids(contact_id: uuid.UUID | None) -> frozenset[uuid.UUID]:
    return frozenset() if contact_id is None else frozenset({contact_id})


def evolve(state: Organisation | None, event: DomainEvent, version: int) -> Organisation:
    """The organisation after one more of its events."""
    if isinstance(event, OrganisationRegistered):
        contact = contact_state(event, event.organisation_id)
        return Organisation(
            event.organisation_id,
            event.uscc,
            event.name,
            OrganisationKind(event.kind),
            event.place_id,
            event.address,
            version,
            contacts=_ids(contact["contact_id"]),
            **contact,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before OrganisationRegistered")
    if isinstance(event, OrganisationDetailsChanged):
        contact = contact_state(event, state.organisation_id)
        return replace(
            state,
            name=event.name,
            kind=OrganisationKind(event.kind),
            address=event.address,
            version=version,
            contacts=state.contacts | _ids(contact["contact_id"]),
            **contact,
        )
    if isinstance(event, OrganisationMoved):
        return replace(state, place_id=event.place_id, version=version)
    if isinstance(event, OrganisationClosed):
        return replace(state, closed_on=event.on, version=version)
    if isinstance(event, OrganisationContactErased):
        legacy = None if event.contact_id == state.contact_id else state.legacy_contact
        return replace(
            state,
            erased_contacts=state.erased_contacts | {event.contact_id},
            legacy_contact=legacy,
            version=version,
        )
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


def contact_details(name: str | None, phone: str | None) -> ContactDetails | None:
    """A contact person as the register keeps them (phone in E.164); None if neither is given."""
    details = ContactDetails(
        name=_text(name),
        phone=normalise_phone(phone, field="contact_phone") if phone and phone.strip() else None,
    )
    return details if details.name or details.phone else None


def _sealed(details: ContactDetails | None, key: ContactKey | None) -> dict[str, Any]:
    if details is None:
        return {}
    if key is None:
        raise ValueError("a contact person is sealed under their key: the handler gives one")
    return {
        "contact_id": key.contact_id,
        "contact": key.seal(details.model_dump(mode="json")),
        "contact_name_masked": mask_name(details.name) if details.name else None,
        "contact_phone_masked": mask_phone(details.phone) if details.phone else None,
    }


def _as_stated(organisation: Organisation) -> dict[str, Any]:
    """The contact fields restated as they are (sealed, or erased)."""
    return {
        "contact_id": organisation.contact_id,
        "contact": organisation.contact,
        "contact_name_masked": organisation.contact_name_masked,
        "contact_phone_masked": organisation.contact_phone_masked,
    }


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
    contact_key: ContactKey | None = None,
) -> list[OrganisationEvent]:
    """Decide the registration of an organisation at ``place``; a contact person is sealed
    under ``contact_key``."""
    _site(place)
    return [
        OrganisationRegistered(
            organisation_id=organisation_id,
            uscc=check_uscc(uscc),
            name=_name(name),
            kind=kind,
            place_id=place.place_id,
            address=_text(address),
            **_sealed(contact_details(contact_name, contact_phone), contact_key),
        )
    ]


def _restated_contact(
    organisation: Organisation, wanted: ContactDetails | None, keys: ContactKeys
) -> dict[str, Any]:
    current = keys.current
    if wanted == current and (wanted is None or organisation.contact is not None):
        return _as_stated(organisation)  # unchanged, or erased and not replaced
    if wanted is None:
        return {}
    if current is not None and wanted.name == current.name:
        # the same person (a new phone, or a contact from before sealing restated)
        same = organisation.contact_id
        return _sealed(wanted, ContactKey(same, keys.same) if same and keys.same else None)
    return _sealed(wanted, keys.new)


def change_details(
    organisation: Organisation,
    *,
    name: str,
    kind: OrganisationKind,
    address: str | None,
    contact_name: str | None,
    contact_phone: str | None,
    keys: ContactKeys | None = None,
) -> list[OrganisationEvent]:
    """Decide new details; the same details again change nothing.

    The contact is the same person when the name is the current contact's (their id and key
    are kept), another person otherwise; a contact from before sealing is sealed when restated.
    """
    _open(organisation)
    keys = keys or ContactKeys()
    wanted = contact_details(contact_name, contact_phone)
    changed = OrganisationDetailsChanged(
        organisation_id=organisation.organisation_id,
        name=_name(name),
        kind=kind,
        address=_text(address),
        **_restated_contact(organisation, wanted, keys),
    )
    same = (
        changed.name == organisation.name
        and changed.kind == organisation.kind
        and changed.address == organisation.address
        and _as_stated(organisation) == {k: getattr(changed, k) for k in _as_stated(organisation)}
        and organisation.legacy_contact is None
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
    """Decide the closing of an organisation on a date (the reason's redacted copy is kept)."""
    _open(organisation)
    if not reason.strip():
        raise InvalidOrganisation("a closing needs its reason", field="reason")
    return [
        OrganisationClosed(
            organisation_id=organisation.organisation_id,
            on=on,
            reason=clear_copy(reason.strip(), 500),
        )
    ]


def erase_contact(
    organisation: Organisation, contact_id: uuid.UUID, ground: ErasureGround
) -> list[OrganisationEvent]:
    """Decide the erasure of one of the organisation's contact persons, current or former (also
    after closing: erasure is owed whatever the organisation's state); once is enough."""
    if contact_id not in organisation.contacts:
        raise UnknownContact(f"no contact person {contact_id} of this organisation",
                             field="contact_id")  # fmt: skip
    if contact_id in organisation.erased_contacts:
        return []
    return [
        OrganisationContactErased(
            organisation_id=organisation.organisation_id, contact_id=contact_id,
            legal_ground=ground,
        )
    ]  # fmt: skip
