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
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest
from system_flow import (
    WORKER,
    is_type,
    settle_before_the_load,
    settled,
    streams_of,
    tickets_without_case,
    unpublished,
)

from system_clients import Hotline, Registry, Retries, Tree, ticket
from system_support import Process, System

pytestmark = pytest.mark.system

KILLS = 10
"""Kills of each kind."""
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
    load.tickets.add(
        await settle_before_the_load(system, line, cases[0], tree, commands.subdistrict)
    )

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
        missing = await settled(functools.partial(unpublished, system, service))
        assert missing == set(), f"{service}: {len(missing)} events never published; {story}"

    # Every push taken in is one ticket, and became exactly one case.
    received = streams_of(await system.events("hotline_bridge"), "TicketReceived")
    assert {f"ticket-{t}" for t in load.tickets} <= set(received), story
    assert [s for s, n in received.items() if n > 1] == [], story
    await settled(lambda: tickets_without_case(system, load.tickets))
    opened = Counter(
        e.data.get("ticket_id") for e in await system.events("cases") if is_type(e, "CaseOpened")
    )
    assert {t: opened[t] for t in load.tickets} == dict.fromkeys(load.tickets, 1), story
    assert [t for t, n in opened.items() if t and n > 1] == [], story

    # Every registry command was recorded once: one stream per answered command, no other.
    registry_events = await system.events("registry")
    tree_places = {tree.subdistrict, tree.community, tree.grid, tree.building, tree.unit}
    expected_places = {*tree_places, tree.dwelling, *load.places}
    assert streams_of(registry_events, "PlaceRegistered") == _once("place", expected_places), story
    assert streams_of(registry_events, "PersonRegistered") == _once("person", load.persons), story
    households = streams_of(registry_events, "HouseholdRegistered")
    assert households == _once("household", load.households), story

    # The read model agrees: each ticket's case once in the worker's inbox, the case opened.
    worker = system.headers("grid_worker", places=[tree.grid_code], subject=WORKER)

    async def inbox_lacks() -> set[str]:
        answer = await system.http.get(f"{cases[0].url}/inbox", headers=worker)
        assert answer.status_code == 200, answer.text
        shown = Counter(c["ticket_id"] for c in answer.json()["cases"] if c["ticket_id"])
        assert [t for t, n in shown.items() if n > 1] == [], story
        return load.tickets - set(shown)

    lacking = await settled(inbox_lacks)
    assert lacking == set(), f"{len(lacking)} tickets' cases not in the inbox; {story}"


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


def _once(prefix: str, ids: Iterable[str]) -> Counter[str]:
    return Counter({f"{prefix}-{i}": 1 for i in ids})
