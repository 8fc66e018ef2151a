"""Every time a read model keeps is an instant: stored in UTC whatever offset the event gave it
(a hotline deadline comes as +08:00), read back aware. SQLite keeps no offset, so a column of
plain ``DateTime(timezone=True)`` kept the wall clock of +08:00 and read it back as UTC, 8 hours
late; every service's read models use the one column type that converts (``governance.times``)."""

from __future__ import annotations

import sqlalchemy as sa

from wangge.events.store.tables import UTCDateTime

from quintet_support import Quintet


async def test_every_time_column_of_every_read_model_stores_the_instant(quintet: Quintet) -> None:
    trio = quintet.trio
    services = (trio.registry, trio.hotline, trio.cases, quintet.training, quintet.views)
    checked = 0
    for running in services:
        for name, projection in running.state.projections.items():
            for table in projection.tables(1).values():
                for column in table.columns:
                    if isinstance(column.type, sa.DateTime | UTCDateTime):
                        where = f"{running.settings.service}: {name}.{table.name}.{column.name}"
                        assert isinstance(column.type, UTCDateTime), where
                        checked += 1
    assert checked > 20  # the services' read models do keep times
