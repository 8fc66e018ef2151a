"""A ticket's steps below HTTP: a retry with the same idempotency key is answered as the first
and records nothing; a step against a stale version is a conflict; an erasure happens once."""

from __future__ import annotations

import uuid

import pytest
from core_support import Bridge, intake

from wangge.events.errors import ConcurrencyConflict
from wangge.events.projection import active_tables
from wangge.governance.erasure import ErasureGround
from wangge.hotline_bridge.domain.tickets import WrongStatus, stream_id
from wangge.hotline_bridge.handlers import tickets as handle
from wangge.hotline_bridge.handlers.callers import erase_callers
from wangge.hotline_bridge.projections.callers import tickets_of_phone
from wangge.hotline_bridge.projections.tickets import ticket_row

STAFF = "worker-wang"


async def _status(bridge: Bridge, ticket_id: uuid.UUID) -> str:
    async with bridge.core.store.engine.connect() as conn:
        row = await ticket_row(conn, await bridge.core.tickets(conn), ticket_id)
    assert row is not None
    return str(row["status"])


async def test_a_step_retried_with_its_idempotency_key_is_answered_as_the_first(
    bridge: Bridge,
) -> None:
    ticket_id, _ = await bridge.push(intake())
    commands = bridge.commands(STAFF, idempotency_key="accept-1")
    await handle.accept(commands, ticket_id)
    events = await bridge.core.store.read_stream(stream_id(ticket_id))
    await handle.accept(commands, ticket_id)  # a second acceptance, unkeyed, is refused
    assert await bridge.core.store.read_stream(stream_id(ticket_id)) == events
    assert await _status(bridge, ticket_id) == "accepted"
    with pytest.raises(WrongStatus):
        await handle.accept(bridge.commands(STAFF), ticket_id)


async def test_a_step_against_a_stale_version_is_a_conflict(bridge: Bridge) -> None:
    ticket_id, _ = await bridge.push(intake())  # received and routed: version 2
    with pytest.raises(ConcurrencyConflict):
        await handle.accept(bridge.commands(STAFF, expected_version=1), ticket_id)
    assert await _status(bridge, ticket_id) == "routed"
    await handle.accept(bridge.commands(STAFF, expected_version=2), ticket_id)
    reply = handle.Reply(reply="已协调商户整改", solved=True)
    with pytest.raises(ConcurrencyConflict):
        await handle.reply(bridge.commands(STAFF, expected_version=2), bridge.core.keyring,
                           ticket_id, reply)  # fmt: skip
    await handle.reply(bridge.commands(STAFF, expected_version=3), bridge.core.keyring,
                       ticket_id, reply)  # fmt: skip
    assert await _status(bridge, ticket_id) == "replied"


async def test_a_caller_is_erased_once_with_the_key_and_the_phone_index(bridge: Bridge) -> None:
    ticket_id, _ = await bridge.push(intake(caller_phone="13700001111"))
    keys = bridge.core.keyring
    phone_hash = keys.phone_hash("+8613700001111")
    commands = bridge.commands("subdistrict-admin")
    ground = ErasureGround("consent_withdrawn")
    assert await erase_callers(commands, keys, [ticket_id], ground) == [ticket_id]
    assert await erase_callers(commands, keys, [ticket_id], ground) == []
    async with bridge.core.store.engine.connect() as conn:
        assert await keys.key(conn, ticket_id) is None
        phones = await active_tables(conn, bridge.core.projection("hotline_caller_phones"))
        assert await tickets_of_phone(conn, phones, phone_hash) == []
