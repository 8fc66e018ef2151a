"""No generated request, valid or not, makes a service answer 500, and every error is a problem
document (RFC 9457). Undocumented statuses are printed, not yet failed (``pytest -rP``)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from duo_support import Duo
from fuzz_support import Fuzzed, fuzz, hotline_signature
from hotline_support import push, ticket
from registry_support import SUBDISTRICT, register_person
from trio_support import Trio


def _passed(fuzzed: Fuzzed) -> None:
    print(fuzzed.summary())
    assert not fuzzed.failures, "\n\n".join(fuzzed.failures)


@pytest.mark.parametrize("trio", ["sqlite"], indirect=True)
async def test_no_fuzzed_request_makes_the_registry_answer_500(trio: Trio) -> None:
    registry = trio.registry
    admin = registry.as_("subdistrict_admin", places=[SUBDISTRICT], subject="fuzz-admin")
    person = await register_person(registry, trio.tree)
    known = {
        "place_id": trio.tree.grid,
        "dwelling_id": trio.tree.dwelling,
        "worker_id": trio.worker_id,
        "person_id": person["person_id"],
    }
    _passed(await fuzz("registry", registry.client, headers=admin, known=known))


@pytest.mark.parametrize("trio", ["sqlite"], indirect=True)
async def test_no_fuzzed_request_makes_the_hotline_bridge_answer_500(trio: Trio) -> None:
    hotline = trio.hotline
    caller = hotline.as_(
        "subdistrict_admin", "hotline_system", places=[SUBDISTRICT], subject="hotline-12345"
    )
    signed = hotline_signature(hotline.settings.signing_secret())
    pushed = await push(hotline, ticket())
    assert pushed.status_code == 201, pushed.text
    known = {"ticket_id": pushed.json()["ticket_id"]}
    _passed(
        await fuzz("hotline-bridge", hotline.client, headers=caller, signed=signed, known=known)
    )


@pytest.mark.parametrize("trio", ["sqlite"], indirect=True)
async def test_no_fuzzed_request_makes_the_cases_service_answer_500(trio: Trio) -> None:
    cases = trio.cases
    admin = cases.as_("subdistrict_admin", places=[SUBDISTRICT], subject="fuzz-admin")
    _passed(await fuzz("cases", cases.client, headers=admin))


@pytest.mark.parametrize("duo", ["sqlite"], indirect=True)
async def test_no_fuzzed_request_makes_the_training_service_answer_500(duo: Duo) -> None:
    training = duo.training
    admin = training.as_("subdistrict_admin", places=[SUBDISTRICT], subject="fuzz-admin")
    _passed(await fuzz("training", training.client, headers=admin))


async def test_the_fuzzing_reports_an_operation_that_answers_500() -> None:
    """The harness itself: a green run above means no 500, not a check that never fires."""
    app = FastAPI()

    @app.get("/boom/{number}")
    async def boom(number: int) -> dict[str, int]:
        return {"inverse": 1 // (number - number)}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://toy") as client:
        fuzzed = await fuzz("toy", client, headers={})
    assert len(fuzzed.failures) == 1
    assert fuzzed.failures[0].startswith("GET /boom/{number}: ")
    assert "500" in fuzzed.failures[0]
