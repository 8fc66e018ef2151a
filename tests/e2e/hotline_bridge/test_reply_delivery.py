"""Replies reach the hotline exactly once in effect, through a receiver that fails on purpose:
refusals, lost acknowledgements and answers slower than the timeout; and a reply that keeps
failing waits in the dead-letter state until staff send it again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from wangge.service.testing import Scraped, sample, scraped

from pair_support import Pair, routed
from receiver_support import FAST, Receiver


async def replied(pair: Pair, count: int) -> list[str]:
    worker = pair.hotline.as_("grid_worker", places=[pair.tree.grid_code])
    ids = []
    for n in range(count):
        view = await routed(pair, f"沿江街道滨江社区12栋2单元1201 第{n}件")
        ticket = view["ticket_id"]
        await pair.hotline.client.post(f"/tickets/{ticket}/accept", headers=worker)
        done = await pair.hotline.client.post(
            f"/tickets/{ticket}/reply", json={"reply": f"已处理 {n}", "solved": True},
            headers=worker,
        )  # fmt: skip
        assert done.json()["delivery_status"] == "pending", done.text
        ids.append(ticket)
    return ids


async def settle(pair: Pair, ids: list[str], status: str) -> list[dict[str, Any]]:
    admin = pair.hotline.as_("subdistrict_admin", places=["320111001"])
    for _ in range(600):
        views = [
            (await pair.hotline.client.get(f"/tickets/{t}", headers=admin)).json() for t in ids
        ]
        if all(v["delivery_status"] == status for v in views):
            return views
        await asyncio.sleep(0.05)
    raise AssertionError(f"not all {status}: {[v['delivery_status'] for v in views]}")


@pytest.mark.hotline(**FAST)
async def test_every_reply_arrives_exactly_once_in_effect_through_a_flaky_receiver(
    pair: Pair, receiver: Receiver
) -> None:
    receiver.secret = pair.hotline.settings.signing_secret()
    ids = await replied(pair, 12)
    views = await settle(pair, ids, "delivered")
    keys = {v["ticket_id"]: v for v in views}
    assert len(receiver.kept) == 12  # one reply kept per ticket, none lost
    assert sorted(r["reply"] for r in receiver.kept.values()) == sorted(
        f"已处理 {n}" for n in range(12)
    )
    assert sum(receiver.arrivals.values()) > 12  # it did have to retry
    assert receiver.outcomes["refused"] and receiver.outcomes["ack lost"]
    assert all(v["delivery_attempts"] >= 1 for v in keys.values())


@pytest.mark.hotline(**FAST | {"delivery_max_attempts": 2})
async def test_a_reply_that_keeps_failing_is_dead_lettered_until_staff_retry(
    pair: Pair, receiver: Receiver
) -> None:
    receiver.secret = pair.hotline.settings.signing_secret()
    receiver.mode = "down"
    before = await scraped(pair.hotline.client)
    [ticket] = await replied(pair, 1)
    [view] = await settle(pair, [ticket], "dead_letter")
    assert view["delivery_attempts"] == 2
    assert receiver.arrivals[next(iter(receiver.arrivals))] == 2
    given_up = await scraped(pair.hotline.client)
    assert sample(given_up, "wangge_hotline_replies_dead_lettered") == 1  # what the alert reads
    assert _deliveries(given_up, before) == {"failed": 1, "dead_lettered": 1, "delivered": 0}
    receiver.mode = "up"
    staff = pair.hotline.as_("subdistrict_admin", places=["320111001"])
    retried = await pair.hotline.client.post(f"/tickets/{ticket}/delivery/retry", headers=staff)
    assert retried.status_code == 200, retried.text
    [view] = await settle(pair, [ticket], "delivered")
    assert len(receiver.kept) == 1
    after = await scraped(pair.hotline.client)
    assert sample(after, "wangge_hotline_replies_dead_lettered") == 0
    assert _deliveries(after, given_up) == {"failed": 0, "dead_lettered": 0, "delivered": 1}
    again = await pair.hotline.client.post(f"/tickets/{ticket}/delivery/retry", headers=staff)
    assert again.status_code == 409


def _deliveries(now: Scraped, then: Scraped) -> dict[str, float]:
    """Delivery attempts by outcome between two scrapes (the counters are the process's)."""
    name = "wangge_hotline_reply_deliveries_total"
    return {
        outcome: sample(now, name, outcome=outcome) - sample(then, name, outcome=outcome)
        for outcome in ("failed", "dead_lettered", "delivered")
    }


@pytest.mark.hotline(**FAST)
async def test_the_hotline_gets_the_full_reply_the_log_its_redacted_copy(
    pair: Pair, receiver: Receiver
) -> None:
    receiver.secret = pair.hotline.settings.signing_secret()
    receiver.mode = "up"
    worker = pair.hotline.as_("grid_worker", places=[pair.tree.grid_code])
    view = await routed(pair, "沿江街道滨江社区12栋2单元1201 漏水")
    ticket = view["ticket_id"]
    await pair.hotline.client.post(f"/tickets/{ticket}/accept", headers=worker)
    text = "已上门维修，如仍漏水请拨物业电话13912345678"
    done = await pair.hotline.client.post(
        f"/tickets/{ticket}/reply", json={"reply": text, "solved": True}, headers=worker
    )
    assert done.json()["reply"] == text  # staff see what they wrote
    await settle(pair, [ticket], "delivered")
    assert [r["reply"] for r in receiver.kept.values()] == [text]
    events = await pair.hotline.store.read_stream(f"ticket-{ticket}")
    stored = [e.data.model_dump_json() for e in events]
    assert not any("13912345678" in data for data in stored)
    assert any("139****5678" in data for data in stored)
    erased = await pair.hotline.client.request(
        "DELETE", f"/tickets/{ticket}/caller", json={"legal_ground": "purpose_achieved"},
        headers=pair.hotline.as_("hotline_system"),
    )  # fmt: skip
    assert erased.json() == {"erased": 1, "ticket_ids": [ticket]}
    shown = await pair.hotline.client.get(
        f"/tickets/{ticket}", headers=pair.hotline.as_("subdistrict_admin", places=["320111001"])
    )
    assert shown.json()["reply"] == "已上门维修，如仍漏水请拨物业电话139****5678"
