"""``kill -9`` at random moments under load: no event is lost on its way, nothing happens twice.

The registry, the hotline bridge and the cases service run as processes on the system tests'
own PostgreSQL and Kafka: the hotline bridge with its outbox relay in a process of its own
(``WANGGE_RELAY_IN_PROCESS=false``), the cases service as two processes sharing its consumer
groups. While tickets are pushed at an address routed to a grid with a worker, and registry
commands are sent, three loops each ``kill -9`` ten times at random moments: the hotline
bridge's relay, one of the two cases processes (its projection runners die mid-batch), and the
whole hotline bridge or registry process. Clients retry what a connection error cut short, with
the same key; a restarted process must pick up where the dead one stopped.
"""

from __future__ import annotations

import asyncio
import functools
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from system_clients import Hotline, Registry, Retries, Tree, send, ticket
from system_support import EventRow, Process, System

pytestmark = pytest.mark.system

KILLS = 10
"""Kills of each kind."""
WORKER = "worker-zhang"
SETTLE_SECONDS = 120.0
"""How long the services may take to catch up after the last kill (a dead consumer's partitions
wait for the group's session timeout before another member takes them over)."""
MAX_TICKETS = 500
MAX_COMMANDS = 300
"""Bounds of the load, which otherwise flows as long as the kills go on (about a minute)."""


@dataclass
class Load:
    """What the clients were answered: every push taken in and every registry command."""

    tickets: set[str] = field(default_factory=set)
    places: set[str] = field(default_factory=set)
    persons: set[str] = field(default_factory=set)
    households: set[str] = field(default_factory=set)
    retries: Retries = field(default_factory=Retries)


async def test_kill_nine_at_random_moments_loses_nothing_and_does_nothing_twice(
    system: System,
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    registry, hotline, relay, *cases = await asyncio.gather(
        system.start_service("registry"),
        system.start_service("hotline_bridge", relay_in_process=False),
        system.start_relay("hotline_bridge"),
        system.start_service("cases"),
        system.start_service("cases"),  # side by side: they share the consumer groups
    )
    load = Load()
    commands = Registry(system, registry, retries=load.retries)
    tree = await commands.register_tree()
    await commands.appoint_worker(WORKER, [tree.grid])
    line = Hotline(system, hotline, retries=load.retries)
    await _settle_before_the_load(system, line, cases[0], tree, commands.subdistrict, load)

    stop = asyncio.Event()
    began = asyncio.get_running_loop().time()
    addresses = iter(range(10**6))
    pushers = [
        asyncio.create_task(_push_tickets(line, tree, load, addresses, rng, stop)) for _ in range(2)
    ]
    commander = asyncio.create_task(_send_commands(commands, tree, load, rng, stop))
    try:
        await asyncio.gather(
            _kill_nine(lambda: relay, rng, pause=(2.0, 5.0), down=(0.0, 1.0)),
            _kill_nine(lambda: rng.choice(cases), rng, pause=(0.5, 2.5)),
            _kill_nine(lambda: rng.choice([hotline, registry]), rng, pause=(0.5, 2.5)),
        )
    finally:
        stop.set()
        await asyncio.gather(*pushers, commander)

    story = (
        f"seed {seed}, {asyncio.get_running_loop().time() - began:.0f} s of kills: "
        f"{len(load.tickets)} tickets, {_commands(load)} registry commands, "
        f"{load.retries.count} retried requests; kills of "
        + ", ".join(f"{p.name} {p.kills}" for p in system.processes)
    )
    print(story)  # shown with -s, or -rP: what this run did
    assert relay.kills == KILLS, story
    assert sum(p.kills for p in cases) == KILLS, story
    assert hotline.kills + registry.kills == KILLS, story
    assert [p.name for p in system.processes if not p.running] == [], story

    # Every event of each service's table reaches its topic (the relay publishes at least
    # once: duplicates on the topic are allowed, gaps are not).
    for service in ("registry", "hotline_bridge", "cases"):
        missing = await _settled(functools.partial(_unpublished, system, service))
        assert missing == set(), f"{service}: {len(missing)} events never published; {story}"

    # Every push taken in is one ticket, and became exactly one case.
    received = _streams(await system.events("hotline_bridge"), "TicketReceived")
    assert {f"ticket-{t}" for t in load.tickets} <= set(received), story
    assert [s for s, n in received.items() if n > 1] == [], story
    await _settled(lambda: _tickets_without_case(system, load))
    opened = Counter(
        e.data.get("ticket_id") for e in await system.events("cases") if _is(e, "CaseOpened")
    )
    assert {t: opened[t] for t in load.tickets} == dict.fromkeys(load.tickets, 1), story
    assert [t for t, n in opened.items() if t and n > 1] == [], story

    # Every registry command was recorded once: one stream per answered command, no other.
    registry_events = await system.events("registry")
    tree_places = {tree.subdistrict, tree.community, tree.grid, tree.building, tree.unit}
    expected_places = {*tree_places, tree.dwelling, *load.places}
    assert _streams(registry_events, "PlaceRegistered") == _once("place", expected_places), story
    assert _streams(registry_events, "PersonRegistered") == _once("person", load.persons), story
    households = _streams(registry_events, "HouseholdRegistered")
    assert households == _once("household", load.households), story

    # The read model agrees: each ticket's case once in the worker's inbox, the case opened.
    worker = system.headers("grid_worker", places=[tree.grid_code], subject=WORKER)

    async def inbox_lacks() -> set[str]:
        answer = await system.http.get(f"{cases[0].url}/inbox", headers=worker)
        assert answer.status_code == 200, answer.text
        shown = Counter(c["ticket_id"] for c in answer.json()["cases"] if c["ticket_id"])
        assert [t for t, n in shown.items() if n > 1] == [], story
        return load.tickets - set(shown)

    lacking = await _settled(inbox_lacks)
    assert lacking == set(), f"{len(lacking)} tickets' cases not in the inbox; {story}"


async def _settle_before_the_load(
    system: System, line: Hotline, cases: Process, tree: Tree, subdistrict: str, load: Load
) -> None:
    """Before any kill, the whole way once, so that the load starts on a settled system: the
    cases service's roster has the grid's worker, the hotline bridge routes to the grid, and a
    ticket's case reaches the worker's inbox."""
    staff = system.headers("subdistrict_admin", places=[subdistrict], subject="staff-system")

    # SERVICE FINDING (not what this test is about, so it waits it out): the cases service
    # learns the worker (roster) and the tickets (hotline reaction) from two topics through
    # separate projections. A ticket routed right after the appointment can open its case
    # before the roster has the worker (the case then belongs to nobody), while the reaction
    # that moves a grid's open cases to its new worker already ran before the case existed:
    # the case stays out of every inbox. Seen in about one run in four when the first ticket
    # followed the appointment at once.
    async def roster_has_the_worker() -> bool:
        answer = await send(
            system.http,
            "POST",
            f"{cases.url}/cases",
            headers={**staff, "Idempotency-Key": f"probe-{uuid.uuid4().hex}"},
            json_body={
                "kind": "hazard",
                "source": "walk_in",
                "title": "巡查",
                "grid_id": tree.grid,
            },
        )
        return answer.status_code == 201 and answer.json()["account"] == WORKER

    assert await _eventually(roster_has_the_worker, seconds=60.0), "the roster never had the worker"

    for attempt in range(100):
        answer = await line.push(ticket(address=f"沿江街道滨江社区12号楼西侧{attempt}号"))
        assert answer.status_code == 201, answer.text
        if answer.json()["grid_id"] == tree.grid:
            break
        await asyncio.sleep(0.2)  # the grid map has not caught up yet: this one waits in triage
    else:
        raise AssertionError("the hotline bridge never routed a ticket to the registry's grid")
    first: str = answer.json()["ticket_id"]
    load.tickets.add(first)
    worker = system.headers("grid_worker", places=[tree.grid_code], subject=WORKER)

    async def in_inbox() -> bool:
        shown = await system.http.get(f"{cases.url}/inbox", headers=worker)
        return first in {c["ticket_id"] for c in shown.json()["cases"]}

    assert await _eventually(in_inbox, seconds=60.0), "the first ticket's case never arrived"


async def _push_tickets(
    line: Hotline,
    tree: Tree,
    load: Load,
    addresses: Iterable[int],
    rng: random.Random,
    stop: asyncio.Event,
) -> None:
    # another door of building 12 for each ticket: routed by the building, never a repeat of
    # an open ticket at the same address (which would be linked, not opened as a case)
    for number in addresses:
        if stop.is_set() or len(load.tickets) >= MAX_TICKETS:
            return
        answer = await line.push(ticket(address=f"沿江街道滨江社区12号楼东侧商铺{number}号"))
        assert answer.status_code in (200, 201), answer.text
        view = answer.json()
        assert (view["grid_id"], view["duplicate_of"]) == (tree.grid, None), view
        load.tickets.add(view["ticket_id"])
        await asyncio.sleep(rng.uniform(0.1, 0.5))


async def _send_commands(
    commands: Registry, tree: Tree, load: Load, rng: random.Random, stop: asyncio.Event
) -> None:
    while not stop.is_set() and _commands(load) < MAX_COMMANDS:
        roll = rng.random()
        if roll < 0.4:
            load.persons.add(await commands.register_person(tree.dwelling))
        elif roll < 0.7:
            number = f"{200 + len(load.places)}栋"  # far from 12: never a fuzzy match for it
            load.places.add(
                await commands.register_place(
                    kind="building", name=number, number=number, parent_id=tree.grid
                )
            )
        else:
            head = await commands.register_person(tree.dwelling, name="李四")
            load.persons.add(head)
            load.households.add(await commands.register_household(tree.dwelling, head))
        await asyncio.sleep(rng.uniform(0.1, 0.4))


async def _kill_nine(
    victim: Callable[[], Process],
    rng: random.Random,
    *,
    pause: tuple[float, float],
    down: tuple[float, float] = (0.0, 0.0),
) -> None:
    """``KILLS`` times: wait a random while, ``kill -9`` the victim, start it again."""
    for _ in range(KILLS):
        await asyncio.sleep(rng.uniform(*pause))
        process = victim()
        await process.kill()
        await asyncio.sleep(rng.uniform(*down))
        await process.start()


def _commands(load: Load) -> int:
    return len(load.places) + len(load.persons) + len(load.households)


def _is(event: EventRow, name: str) -> bool:
    return event.type.rsplit(".", 1)[-1] == name


def _streams(events: list[EventRow], name: str) -> Counter[str]:
    """How many ``name`` events each stream has."""
    return Counter(e.stream_id for e in events if _is(e, name))


def _once(prefix: str, ids: Iterable[str]) -> Counter[str]:
    return Counter({f"{prefix}-{i}": 1 for i in ids})


async def _unpublished(system: System, service: str) -> set[str]:
    table = {str(e.event_id) for e in await system.events(service)}
    return table - {str(r.event_id) for r in await system.topic_records(service)}


async def _tickets_without_case(system: System, load: Load) -> set[str]:
    events = await system.events("cases")
    opened = {e.data.get("ticket_id") for e in events if _is(e, "CaseOpened")}
    return load.tickets - opened


async def _settled(check: Callable[[], Awaitable[set[str]]]) -> set[str]:
    """What ``check`` still finds once it finds nothing, or after ``SETTLE_SECONDS``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    while True:
        left = await check()
        if not left or loop.time() > deadline:
            return left
        await asyncio.sleep(0.5)


async def _eventually(check: Callable[[], Awaitable[Any]], *, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.2)
    return True
