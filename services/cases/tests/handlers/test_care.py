"""Commands on care plans below HTTP: a visit is on the plan's rows once recorded, sealed
measurements open with the plan's key, and once its data was erased none are recorded."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from wangge.cases.bootstrap import CasesCore
from wangge.cases.domain import care
from wangge.cases.domain.cases import WrongStatus
from wangge.cases.handlers import care as handle
from wangge.cases.handlers.care import PlanCreate, VisitCreate
from wangge.cases.projections import care as model
from wangge.cases.projections.care import CarePlans
from wangge.events.command import CommandRunner
from wangge.events.db import read_only
from wangge.governance.erasure import Erasure, ErasureGround

Commands = Callable[..., CommandRunner]


async def test_a_visit_is_on_the_plan_and_its_measurements_go_with_its_key(
    core: CasesCore, commands: Commands
) -> None:
    today = datetime.now(UTC).date()
    plan_id = await handle.start_plan(
        commands("admin"), core,
        PlanCreate(
            resident=str(uuid.uuid4()), grid_id=uuid.uuid4(), kind=care.CareKind.HEALTH_CHECK,
            every_days=7, starts_on=today - timedelta(days=10),
        ),
        worker=(uuid.uuid4(), "worker-1"),
    )  # fmt: skip
    visit = VisitCreate(visited_on=today, note="血压偏高", measurements={"systolic": 150})
    await handle.record_visit(commands(), core, plan_id, visit)
    async with read_only(core.store.engine) as conn:
        tables = await core.tables(conn, CarePlans.name)
        row = await model.plan(conn, tables, plan_id)
        [made] = await model.visits(conn, tables, plan_id)
        [(_, values)] = await model.measurements(conn, core.store, core.keyrings.plans, plan_id)
    assert row is not None
    assert (row.worker_account, row.visits, row.last_visit_on) == ("worker-1", 1, today)
    assert (made.by, made.measured) == ("worker-1", True)
    assert values == {"systolic": 150}

    erasure = Erasure(legal_ground=ErasureGround.CONSENT_WITHDRAWN)
    await handle.erase_plan_data(commands("admin"), core, plan_id, erasure)
    async with read_only(core.store.engine) as conn:
        [(_, values)] = await model.measurements(conn, core.store, core.keyrings.plans, plan_id)
    assert values is None
    with pytest.raises(WrongStatus):
        await handle.record_visit(commands(), core, plan_id, visit)
    await handle.record_visit(commands(), core, plan_id, VisitCreate(visited_on=today))
