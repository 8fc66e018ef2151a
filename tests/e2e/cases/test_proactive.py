"""Repeated complaints at one address become a proactive case (未诉先办) for the grid's worker."""

from __future__ import annotations

from typing import Any

from hotline_support import push, ticket
from trio_support import WORKER, Trio, eventually, json_of


async def test_the_third_complaint_at_an_address_opens_a_proactive_case(trio: Trio) -> None:
    for _ in range(3):
        await json_of(
            await push(
                trio.hotline,
                ticket(address="沿江街道滨江社区12栋2单元1201", category_code="0302"),
            ),
            201,
        )

    async def proactive() -> Any:
        inbox = await json_of(await trio.cases.client.get("/inbox", headers=trio.worker()))
        return next((c for c in inbox["cases"] if c["kind"] == "proactive"), None)

    case = await eventually(proactive, what="a proactive case in the worker's inbox")
    assert (case["source"], case["account"], case["grid_id"]) == (
        "proactive", WORKER, trio.tree.grid,
    )  # fmt: skip
    assert case["hotspot_id"] is not None
    assert case["title"].startswith("3 complaints in 30 days")
