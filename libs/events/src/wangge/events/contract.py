"""The published event contract: JSON Schemas and an AsyncAPI 3 document, from the catalogue.

Schemas evolve by adding optional fields. Anything else must be a new schema version with an
upcaster; :func:`breaking_changes` finds the changes that break a published schema without one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from wangge.events.catalogue import Catalogue, CatalogueEntry
from wangge.events.kafka import topic_for

JsonSchema = dict[str, Any]

_HEADER_DOCS = {
    "ce_specversion": "CloudEvents version, always 1.0",
    "ce_id": "event id (UUIDv7), unique; consumers dedupe by it",
    "ce_source": "/wangge/<service>",
    "ce_type": "wangge.<service>.<EventName>",
    "ce_subject": "stream id, also the message key",
    "ce_time": "when the event was recorded (RFC 3339, UTC)",
    "ce_dataschema": "urn:wangge:schema:<type>:<schema version>",
    "ce_sequence": "version of the event within its stream, from 1",
    "ce_traceparent": "W3C trace context of the command that caused the event",
    "ce_actor": "who caused the event (user or system id)",
    "ce_correlationid": "id shared by every event of one request or process",
    "ce_causationid": "id of the command or event that caused this one",
    "content-type": "application/json",
}
REQUIRED_HEADERS = [
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_subject",
    "ce_time",
    "ce_dataschema",
    "ce_sequence",
    "content-type",
]
"""The headers every published event carries (AsyncAPI: required)."""


ENTRY_POINTS = "wangge.events"
"""Each service names the module that registers its event models, so the contract lists them."""


def published_catalogue() -> Catalogue:
    """Every event type the project publishes: each service's, and the embedded demo's."""
    from wangge.events.catalogue import default_catalogue, merge
    from wangge.events.demo import catalogue as demo

    for entry in entry_points(group=ENTRY_POINTS):
        entry.load()  # importing the module registers its models in the default catalogue
    return merge(default_catalogue, demo)


def event_schema(entry: CatalogueEntry, ref_template: str = "#/$defs/{model}") -> JsonSchema:
    """The JSON Schema of one event type's data at its current version."""
    schema = entry.model.model_json_schema(ref_template=ref_template)
    schema["$id"] = entry.dataschema
    schema["title"] = entry.name
    return schema


def json_schemas(catalogue: Catalogue) -> dict[str, JsonSchema]:
    """``schemas/<type>/v<version>.json`` -> schema, for every registered type."""
    return {
        f"schemas/{entry.type}/v{entry.version}.json": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **event_schema(entry),
        }
        for entry in catalogue
    }


def asyncapi(catalogue: Catalogue, *, version: str = "1.0.0") -> JsonSchema:
    """An AsyncAPI 3.0 document: one channel (topic) per service, one message per event type."""
    by_service: dict[str, list[CatalogueEntry]] = defaultdict(list)
    for entry in catalogue:
        by_service[entry.service].append(entry)
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for service, entries in sorted(by_service.items()):
        refs = {}
        for entry in entries:
            schema = event_schema(entry, ref_template="#/components/schemas/{model}")
            for name, definition in schema.pop("$defs", {}).items():
                schemas[name] = definition
            schemas[entry.type] = schema
            messages[entry.type] = {
                "name": entry.name,
                "title": entry.name,
                "summary": (entry.model.__doc__ or "").strip().splitlines()[0]
                if entry.model.__doc__
                else entry.name,
                "contentType": "application/json",
                "headers": {
                    "type": "object",
                    "required": REQUIRED_HEADERS,
                    "properties": {
                        name: {"type": "string", "description": doc}
                        for name, doc in _HEADER_DOCS.items()
                    },
                },
                "payload": {"$ref": f"#/components/schemas/{entry.type}"},
                "bindings": {
                    "kafka": {
                        "key": {"type": "string", "description": "stream id (<aggregate>-<uuid>)"},
                        "bindingVersion": "0.5.0",
                    }
                },
                "x-schema-version": entry.version,
            }
            refs[entry.name] = {"$ref": f"#/components/messages/{entry.type}"}
        channels[service] = {
            "address": topic_for(service),
            "description": f"Every event of the {service} service, keyed by stream id.",
            "messages": refs,
        }
        operations[f"{service}.publish"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{service}"},
            "messages": [{"$ref": f"#/channels/{service}/messages/{name}"} for name in refs],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Wangge domain events",
            "version": version,
            "description": "Events each Wangge service publishes, in CloudEvents 1.0 binary "
            "content mode: attributes as ce_* headers, data as a JSON object (key order and "
            "white space carry no meaning and may differ between deliveries). Delivery is at "
            "least once: drop repeats by ce_subject and ce_sequence, or by ce_id.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "the deployment's Kafka cluster",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def write_contract(catalogue: Catalogue, out: Path) -> list[Path]:
    """Write the JSON Schemas and ``asyncapi.json`` under ``out``; returns the files written."""
    written = []
    documents = dict(json_schemas(catalogue))
    documents["asyncapi.json"] = asyncapi(catalogue)
    for name, document in documents.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        written.append(path)
    return written


def breaking_changes(catalogue: Catalogue, published: Path) -> list[str]:
    """Every way the catalogue breaks the schemas published under ``published``.

    Allowed at the same version: new optional fields, new descriptions. Anything else (a field
    removed, retyped or newly required) needs a new version, and a new version needs an upcaster
    from the one before.
    """
    problems = []
    upcasters = catalogue.upcasters()
    for entry in catalogue:
        for older in range(1, entry.version):
            if (entry.type, older) not in upcasters:
                problems.append(
                    f"{entry.type}: version {entry.version} has no upcaster from version {older}"
                )
        path = published / "schemas" / entry.type / f"v{entry.version}.json"
        if not path.exists():
            continue
        old = json.loads(path.read_text())
        new = event_schema(entry)
        problems += [f"{entry.type} v{entry.version}: {p}" for p in _compare(old, new)]
    return problems


def _compare(old: JsonSchema, new: JsonSchema) -> list[str]:
    problems = []
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    for name, schema in old_props.items():
        if name not in new_props:
            problems.append(f"field {name!r} was removed")
        elif _strip_docs(schema) != _strip_docs(new_props[name]):
            problems.append(f"field {name!r} changed its type")
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"field {name!r} is newly required")
    new_defs: dict[str, Any] = new.get("$defs", {})
    for name, schema in old.get("$defs", {}).items():
        # a new optional field may bring new nested types; those already published must stay
        if name not in new_defs or _strip_docs(schema) != _strip_docs(new_defs[name]):
            problems.append(f"the nested type {name!r} changed")
    return problems


def _strip_docs(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            k: _strip_docs(v)
            for k, v in schema.items()
            if k not in ("description", "title", "examples")
        }
    if isinstance(schema, list):
        return [_strip_docs(v) for v in schema]
    return schema
