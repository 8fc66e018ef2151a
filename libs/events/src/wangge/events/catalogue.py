"""The catalogue: event type name <-> model <-> schema version, and the upcasters between versions.

Consumers only ever see the newest version of an event: data recorded under an older schema version
is upcast step by step (v1 -> v2 -> ...) before it is validated against the current model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from wangge.events.errors import EventValidationError, FieldError, UnknownEventType
from wangge.events.model import DomainEvent

E = TypeVar("E", bound=type[DomainEvent])
JsonDict = dict[str, Any]
Upcaster = Callable[[JsonDict], JsonDict]

_SCHEMA_URN = "urn:wangge:schema:"


@dataclass(frozen=True)
class CatalogueEntry:
    """One registered event type at its current schema version."""

    service: str
    name: str
    model: type[DomainEvent]
    version: int

    @property
    def type(self) -> str:
        """The CloudEvents ``type``: ``wangge.<service>.<EventName>``."""
        return f"wangge.{self.service}.{self.name}"

    @property
    def source(self) -> str:
        """The CloudEvents ``source``: ``/wangge/<service>``."""
        return f"/wangge/{self.service}"

    @property
    def dataschema(self) -> str:
        """The CloudEvents ``dataschema``: a URN that carries the schema version."""
        return dataschema_for(self.type, self.version)


def dataschema_for(event_type: str, version: int) -> str:
    """The ``dataschema`` URI of one version of one event type."""
    return f"{_SCHEMA_URN}{event_type}:{version}"


@functools.lru_cache(maxsize=4096)
def version_from_dataschema(dataschema: str) -> int:
    """The schema version carried in a ``dataschema`` URI (asked for every record a reader takes
    from Kafka, of a few hundred types: kept)."""
    if not dataschema.startswith(_SCHEMA_URN):
        raise ValueError(f"not a Wangge dataschema: {dataschema!r}")
    return int(dataschema.rsplit(":", 1)[1])


def field_errors(error: ValidationError) -> list[FieldError]:
    """Pydantic's errors as (field path, message) pairs, so callers can name the field."""
    return [
        FieldError(field="/".join(str(p) for p in e["loc"]) or "(root)", message=e["msg"])
        for e in error.errors()
    ]


class Catalogue:
    """Registry of event models; one per process (``default_catalogue``), others for tests."""

    def __init__(self) -> None:
        self._by_type: dict[str, CatalogueEntry] = {}
        self._by_model: dict[type[DomainEvent], CatalogueEntry] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(
        self, model: type[DomainEvent], *, service: str, version: int = 1, name: str | None = None
    ) -> CatalogueEntry:
        """Register ``model`` as the current version of ``wangge.<service>.<name>``."""
        if version < 1:
            raise ValueError("schema versions start at 1")
        entry = CatalogueEntry(
            service=service, name=name or model.__name__, model=model, version=version
        )
        existing = self._by_type.get(entry.type)
        if existing is not None and existing != entry:
            raise ValueError(f"{entry.type} is already registered to {existing.model.__name__}")
        self._by_type[entry.type] = entry
        self._by_model[model] = entry
        return entry

    def event(self, service: str, *, version: int = 1) -> Callable[[E], E]:
        """Class decorator form of :meth:`register`."""

        def decorate(model: E) -> E:
            self.register(model, service=service, version=version)
            return model

        return decorate

    def upcaster(self, event_type: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function that turns data of ``from_version`` into ``from_version + 1``."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return decorate

    def entry(self, event_type: str) -> CatalogueEntry:
        """The entry of a type name; :class:`UnknownEventType` if there is none."""
        try:
            return self._by_type[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def entry_of(self, model: type[DomainEvent]) -> CatalogueEntry:
        """The entry of a model class; :class:`UnknownEventType` if it is not registered."""
        try:
            return self._by_model[model]
        except KeyError:
            raise UnknownEventType(model.__qualname__) from None

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._by_type

    def __iter__(self) -> Iterator[CatalogueEntry]:
        return iter(sorted(self._by_type.values(), key=lambda e: e.type))

    def upcasters(self) -> Mapping[tuple[str, int], Upcaster]:
        """Every registered upcaster, keyed by (type, from_version)."""
        return dict(self._upcasters)

    def encode(self, event: DomainEvent) -> tuple[CatalogueEntry, JsonDict]:
        """Return an event's entry and JSON data, validating it if it skipped validation.

        An event's constructor validates it, and it is frozen; ``model_construct`` skips that,
        so such an event is checked here, before anything is written. Checking every event a
        second time cost an import about a tenth of its time.
        """
        entry = self.entry_of(type(event))
        data = event.model_dump(mode="json", warnings=False)
        if event.unchecked:
            try:
                entry.model.model_validate(data)
            except ValidationError as error:
                raise EventValidationError(entry.type, field_errors(error)) from None
        return entry, data

    def decode(self, event_type: str, version: int, data: Mapping[str, Any]) -> DomainEvent:
        """Upcast recorded data to the current version and validate it against the model."""
        entry = self.entry(event_type)
        current: JsonDict = dict(data)
        if version > entry.version:
            raise EventValidationError(
                event_type,
                [
                    FieldError(
                        "dataschema",
                        f"version {version} is newer than this reader's {entry.version}",
                    )
                ],
            )
        for step in range(version, entry.version):
            try:
                current = self._upcasters[(event_type, step)](current)
            except KeyError:
                raise EventValidationError(
                    event_type, [FieldError("dataschema", f"no upcaster from version {step}")]
                ) from None
        try:
            return entry.model.model_validate(current)
        except ValidationError as error:
            raise EventValidationError(event_type, field_errors(error)) from None


def merge(*catalogues: Catalogue) -> Catalogue:
    """One catalogue holding every entry and upcaster of ``catalogues`` (for the contract)."""
    merged = Catalogue()
    for catalogue in catalogues:
        for entry in catalogue:
            merged.register(
                entry.model, service=entry.service, version=entry.version, name=entry.name
            )
        for (event_type, from_version), upcaster in catalogue.upcasters().items():
            merged.upcaster(event_type, from_version=from_version)(upcaster)
    return merged


default_catalogue = Catalogue()
"""The process-wide catalogue; each service registers its event models here on import."""
