"""Wangge's shared event machinery.

Every service keeps its data as an append-only stream of domain events; this package holds what they
share: event models and their catalogue, the CloudEvents envelope, the event store (PostgreSQL and
SQLite), the outbox relay to Kafka, and the projection runner.
"""

from wangge.events.catalogue import Catalogue, CatalogueEntry, default_catalogue
from wangge.events.envelope import Checkpoint, Envelope, Metadata, RecordedEvent
from wangge.events.errors import (
    ConcurrencyConflict,
    EventStoreError,
    EventValidationError,
    IdempotencyKeyReused,
    UnknownEventType,
    WriteOrderError,
)
from wangge.events.model import DomainEvent, IntegrationEvent

__all__ = [
    "Catalogue",
    "CatalogueEntry",
    "Checkpoint",
    "ConcurrencyConflict",
    "DomainEvent",
    "Envelope",
    "EventStoreError",
    "EventValidationError",
    "IdempotencyKeyReused",
    "IntegrationEvent",
    "Metadata",
    "RecordedEvent",
    "UnknownEventType",
    "WriteOrderError",
    "default_catalogue",
]
