"""The export's record, asked of the views service before anything is read (``POST /exports``):
who exports what, and whether pseudonymised. The views service refuses an analyst's export in
clear; the replay starts only once the record is made."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from wangge.replay.dataset import Manifest


class ExportRefused(RuntimeError):
    """The record was not made: refused (the message is the service's), or out of reach."""


async def record_export(
    views_url: str,
    token: str,
    manifest: Manifest,
    *,
    pseudonymised: bool,
    as_of: date | None = None,
) -> dict[str, Any]:
    """The record of an export of ``manifest`` (its ``export_id``, ``reader``)."""
    body = {
        "topics": sorted(manifest.sources),
        "from_time": manifest.since,
        "until_time": manifest.until,
        "as_of": None if as_of is None else as_of.isoformat(),
        "format": manifest.format,
        "policy": manifest.policy,
        "key": manifest.key,
        "pseudonymised": pseudonymised,
    }
    try:
        async with httpx.AsyncClient(base_url=views_url, timeout=30.0) as client:
            answer = await client.post(
                "/exports", json=body, headers={"Authorization": f"Bearer {token}"}
            )
    except httpx.HTTPError as error:
        raise ExportRefused(
            f"the export is recorded before it starts, and the views service at {views_url} "
            f"is out of reach ({type(error).__name__}): start it or name --views-url"
        ) from None
    if answer.status_code != 201:
        try:
            detail = answer.json().get("detail") or answer.text
        except ValueError:
            detail = answer.text
        raise ExportRefused(
            f"the views service refused the export ({answer.status_code}): {detail}"
        )
    recorded: dict[str, Any] = answer.json()
    return recorded
