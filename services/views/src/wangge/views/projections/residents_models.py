"""The shapes of a resident's and a household's picture (居民/家庭 360), as the queries in
``residents_queries`` return them and the routes answer them: only masked display values and
pseudonymous ids, an erased person's masks shown as ``personal_data.ERASED``."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from wangge.governance.times import StoredTime


class PersonalDataLink(BaseModel):
    """Where an authorised reader gets the person's unmasked data: the registry's own endpoint,
    under its access rules, audited there (this service holds no data keys)."""

    service: str = "registry"
    method: str = "GET"
    path: str = Field(description="the registry's route; it asks for a `purpose` query parameter")


class Dwelling(BaseModel):
    """A dwelling (房屋) and where it lies, as the views' roster knows it (None: not known yet)."""

    dwelling_id: uuid.UUID
    dwelling_name: str | None = None
    building_id: uuid.UUID | None = None
    building_name: str | None = None
    grid_id: uuid.UUID | None = None
    grid_code: str | None = None
    grid_name: str | None = None
    community_id: uuid.UUID | None = None
    community_code: str | None = None
    community_name: str | None = None


class GridWorker(BaseModel):
    """The grid worker (网格员) who holds the grid now (the roster keeps no history of holders)."""

    worker_id: uuid.UUID
    account: str
    name: str


class StatusChange(BaseModel):
    """A residence status (常住/流动/寄住/流出/deceased) from a day on."""

    on: date | None = Field(description="None: since registration")
    status: str


class Tag(BaseModel):
    """A special, key or vulnerable group's tag with who says so and for when."""

    tag: str
    source: str
    valid_from: date
    valid_until: date | None
    untagged_on: date | None
    state: str = Field(description="active, expired (valid_until passed) or untagged, on the day")


class HouseholdMembership(BaseModel):
    """A household the person belongs to on the day, and their relationship to its head."""

    household_id: uuid.UUID
    number: str
    type: str
    dwelling_id: uuid.UUID
    relationship: str
    since: date


class Visit(BaseModel):
    """A door-to-door visit (走访) that named the person or came to their dwelling."""

    visit_id: uuid.UUID
    visited_at: StoredTime
    worker_account: str
    dwelling_id: uuid.UUID
    household_id: uuid.UUID | None


class Need(BaseModel):
    """A need (需求) noted on a visit, for the person or at their dwelling."""

    need_id: uuid.UUID
    visit_id: uuid.UUID
    noted_on: date
    category: str
    description: str


class Agreement(BaseModel):
    """A mediation agreement (调解协议) and its judicial confirmation (司法确认) deadline."""

    agreement_id: uuid.UUID
    signed_on: date
    perform_by: date
    confirmation_deadline: date = Field(description="the last day to ask the court to confirm it")
    honoured: bool | None = Field(description="as followed up; None: not followed up by the day")


class Party(BaseModel):
    """A party to a dispute (当事人), masked; erased once their data was."""

    party_id: uuid.UUID
    role: str = Field(description="applicant, respondent or interested")
    resident: str | None = Field(description="a registered resident's pseudonymous id")
    name_masked: str


class Mediation(BaseModel):
    """A dispute's mediation (调解): parties, sessions held and the agreement signed."""

    parties: list[Party]
    sessions_held: int
    session_dates: list[date]
    agreement: Agreement | None


class Case(BaseModel):
    """A case of any kind that concerns the person, at its stage on the day."""

    case_id: uuid.UUID
    kind: str
    assistance: str | None
    source: str
    title: str
    opened_at: StoredTime
    stage: str = Field(
        description="the cases service's status: opened, assigned, accepted, in_progress, "
        "escalated, resolved, closed (a reopened case is in_progress again)"
    )
    reopened: int = Field(description="how often it was reopened by the day")
    open: bool
    concerns: list[str] = Field(
        description="how it concerns them: subject, a mediation role (applicant, respondent, "
        "interested), need (it answers a need noted for them)"
    )
    ticket_id: uuid.UUID | None
    mediation: Mediation | None = Field(description="disputes with parties or sessions only")


class CarePlan(BaseModel):
    """A care plan (关爱帮扶) with its visits, what is due and what was missed, on the day."""

    plan_id: uuid.UUID
    resident_masked: str
    kind: str
    every_days: int
    worker_account: str
    starts_on: date
    ended_on: date | None
    visits_done: int
    last_visit_on: date | None
    due_on: date | None = Field(description="the current period's visit is due by this day")
    missed: list[date] = Field(description="starts of past periods without a visit")


class Ticket(BaseModel):
    """A 12345 ticket (工单) at the person's dwelling, or answered by one of their cases."""

    ticket_id: uuid.UUID
    ticket_number: str
    received_at: StoredTime
    category_name: str
    kind: str
    status: str
    satisfaction: str | None = Field(description="the caller's rating at the follow-up (回访)")
    place_id: uuid.UUID | None = Field(description="the place its address was routed to")
    why: str = Field(
        description="at_dwelling (routed to their dwelling while they lived there), "
        "or case (one of their cases answers it)"
    )


class TimelineEntry(BaseModel):
    """One thing that happened, for the timeline (newest first)."""

    on: date = Field(description="the day, in the subdistrict (Asia/Shanghai)")
    at: StoredTime | None = Field(description="the moment, where the fact has one")
    kind: str
    summary: str
    ref: str = Field(description="the id of what it is about (case, ticket, visit, plan...)")


class ResidentPicture(BaseModel):
    """A resident's picture (居民 360) as it stood at the end of a day."""

    person_id: uuid.UUID = Field(description="the pseudonymous id; the survivor's after a merge")
    requested_id: uuid.UUID
    merged_from: list[uuid.UUID] = Field(description="records merged into this person")
    as_of: date | None
    erased: bool = Field(description="personal data erased: the masks show as erased")
    name_masked: str | None
    identity_masked: str | None
    phone_masked: str | None
    sex: str
    birth_year: int
    age_band: str
    hukou_type: str
    residence_status: str | None
    residence_history: list[StatusChange]
    personal_data: PersonalDataLink
    dwelling: Dwelling | None = Field(description="where they live on the day")
    last_dwelling: Dwelling | None = Field(
        description="where they lived last (also after a move out): whose places read them"
    )
    households: list[HouseholdMembership]
    grid_worker: GridWorker | None
    tags: list[Tag]
    visits: list[Visit]
    needs: list[Need]
    cases: list[Case]
    care_plans: list[CarePlan]
    tickets: list[Ticket]
    timeline: list[TimelineEntry]


class Member(BaseModel):
    """A household member's summary."""

    person_id: uuid.UUID
    relationship: str
    since: date
    name_masked: str | None
    erased: bool
    sex: str | None
    age_band: str | None
    tags: list[str] = Field(description="tags active on the day")


class HouseholdInGrid(BaseModel):
    """A household of a grid's list (网格户册): where it lives and its members on the day."""

    household_id: uuid.UUID
    number: str
    type: str
    building_name: str | None
    dwelling_name: str | None
    members: list[Member]


class GridHouseholds(BaseModel):
    """A page of a grid's households, by building and dwelling."""

    grid_code: str
    as_of: date | None
    total: int = Field(description="households living in the grid on the day")
    offset: int
    households: list[HouseholdInGrid]


class HouseholdPicture(BaseModel):
    """A household's picture (家庭 360) as it stood at the end of a day."""

    household_id: uuid.UUID
    number: str
    type: str
    registered_on: date
    as_of: date | None
    dwelling: Dwelling
    grid_worker: GridWorker | None
    members: list[Member]
    open_cases: list[Case]
    care_plans: list[CarePlan] = Field(description="the members' plans running on the day")
    tickets: list[Ticket] = Field(description="tickets routed to the dwelling")
    timeline: list[TimelineEntry]
