"""A year of training for a synthetic subdistrict: what ``make run`` seeds and what the
benchmark rebuilds. Deterministic by seed; every event comes from the domain's own decisions,
so a seeded year obeys the same rules as one recorded by hand.

Twice a month a topic session (some teach a module of the year's rotation programme, with an
exam), attended by most workers; a grid notebook in two editions, acknowledged by most; a forum
each quarter with suggestions followed up; a few secondments to the service hall.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from wangge.events import DomainEvent
from wangge.events.store import StreamAppend
from wangge.governance.times import CHINA
from wangge.training.domain import forums, handbooks, programmes, secondments
from wangge.training.domain import sessions as s

TOPICS = ("防范非法集资", "矛盾纠纷调解", "消防安全", "人口信息采集", "心理疏导", "12345工单办理",
          "政策法规解读", "应急处置")  # fmt: skip
MODULES = (
    programmes.Module(code="law", title="政策法规", hours=6),
    programmes.Module(code="mediation", title="矛盾调解", hours=4, pass_score=60),
    programmes.Module(code="collection", title="信息采集", hours=4),
)
EXPERT = s.Instructor(name="李律师", kind=s.InstructorKind.OUTSIDE, organisation="某律师事务所")
STAFF = s.Instructor(name="王科长", kind=s.InstructorKind.STAFF)
WEEK = timedelta(days=7)


def _id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=CHINA)


class _Streams:
    """Streams built event by event through the domain, as one append each."""

    def __init__(self) -> None:
        self.appends: list[StreamAppend] = []

    def build(
        self,
        stream: str,
        evolve: Callable[[Any, DomainEvent, int], Any],
        steps: Sequence[Callable[[Any], list[DomainEvent]]],
    ) -> None:
        state: Any = None
        events: list[DomainEvent] = []
        for step in steps:
            for event in step(state):
                events.append(event)
                state = evolve(state, event, len(events))
        self.appends.append(StreamAppend(stream, events, 0))


def year_of_training(
    workers: Sequence[uuid.UUID],
    *,
    ends_on: date,
    starts_on: date | None = None,
    seed: int = 320111001,
) -> list[StreamAppend]:
    """The year up to ``ends_on`` as stream appends (one per session, programme, handbook,
    forum and secondment)."""
    rng = random.Random(seed)
    out = _Streams()
    ids = list(workers)
    start = max(starts_on or date.min, ends_on - timedelta(days=364))
    span = (ends_on - start).days

    def on(fraction: float) -> date:
        """A day that far into the period (a year, or less for workers appointed since)."""
        return start + timedelta(days=int(span * fraction))

    programme_id = _id(rng)
    out.build(
        programmes.stream_id(programme_id), programmes.evolve,
        [lambda _: programmes.define(
            programme_id=programme_id, name="6+1+3 轮训", description="网格员年度轮训",
            modules=list(MODULES), ordered=False, period_days=365)]
        + [partial(programmes.enrol, worker_id=w, on=start) for w in ids],
    )  # fmt: skip
    for month in range(12):
        for half in range(2):
            day = on((month * 2 + half + 0.2) / 24)
            module = MODULES[(month + half) % len(MODULES)] if half == 0 else None
            _session(out, rng, ids, day, programme_id, module, TOPICS[(month * 2 + half) % 8])
    _handbook(out, rng, ids, start, on(0.55))
    for quarter in range(4):
        _forum(out, rng, ids, on((quarter + 0.5) / 4))
    for n in range(min(6, len(ids))):
        _secondment(out, rng, ids[n * 7 % len(ids)], on(n / 6 + 0.02), ends_on)
    return out.appends


def _session(
    out: _Streams,
    rng: random.Random,
    workers: list[uuid.UUID],
    day: date,
    programme_id: uuid.UUID,
    module: programmes.Module | None,
    topic: str,
) -> None:
    session_id = _id(rng)
    starts, ends = _at(day, 14), _at(day, 16)
    steps: list[Callable[[Any], list[DomainEvent]]] = [
        lambda _: s.schedule(
            session_id=session_id, topic=module.title if module else topic,
            programme_id=programme_id if module else None,
            module_code=module.code if module else None,
            instructors=[EXPERT if module is None else STAFF], starts_at=starts, ends_at=ends,
            place="街道会议室", capacity=len(workers) + 10, materials=[],
        )
    ]  # fmt: skip
    before = starts - timedelta(days=3)
    steps += [partial(s.enrol, worker_id=w, now=before) for w in workers]
    after = ends + timedelta(hours=1)
    for w in workers:
        attendance = rng.choices(list(s.Attendance), weights=(85, 5, 3, 7))[0]
        steps.append(
            partial(s.record_attendance, worker_id=w, attendance=attendance, now=after, by="seed")
        )
        if module is not None and module.pass_score is not None and attendance in s.ATTENDED:
            score = float(rng.randint(45, 100))
            steps.append(
                partial(s.record_assessment, worker_id=w, score=score, max_score=100, by="seed")
            )
    out.build(s.stream_id(session_id), s.evolve, steps)


def _handbook(
    out: _Streams, rng: random.Random, workers: list[uuid.UUID], start: date, second: date
) -> None:
    handbook_id = _id(rng)
    sections = [handbooks.Section(title=t, summary="") for t in ("走访记录", "矛盾排查", "应急")]
    steps: list[Callable[[Any], list[DomainEvent]]] = [
        lambda h: handbooks.publish(
            h, handbook_id=handbook_id, title="网格记事簿", edition=1, published_on=start,
            sections=sections,
        )
    ]  # fmt: skip
    steps += [
        partial(handbooks.acknowledge, edition=1, worker_id=w, acknowledged_on=start + WEEK)
        for w in workers
        if rng.random() < 0.95
    ]
    steps.append(
        lambda h: handbooks.publish(
            h, handbook_id=handbook_id, title="网格记事簿", edition=2, published_on=second,
            sections=[*sections, handbooks.Section(title="12345工单", summary="")],
        )
    )  # fmt: skip
    steps += [
        partial(handbooks.acknowledge, edition=2, worker_id=w, acknowledged_on=second + WEEK)
        for w in workers
        if rng.random() < 0.6
    ]
    out.build(handbooks.stream_id(handbook_id), handbooks.evolve, steps)


def _forum(out: _Streams, rng: random.Random, workers: list[uuid.UUID], day: date) -> None:
    forum_id = _id(rng)
    present = rng.sample(workers, k=min(len(workers), rng.randint(8, 15)))
    steps: list[Callable[[Any], list[DomainEvent]]] = [
        lambda _: forums.hold(
            forum_id=forum_id, topic="网格服务清单座谈会", held_at=_at(day, 9), place="社区活动室",
            participants=present, guests=["社区书记"], summary="", now=_at(day, 12),
        )
    ]  # fmt: skip
    outcomes = (forums.Outcome.ADOPTED, forums.Outcome.ANSWERED, forums.Outcome.DECLINED)
    for n in range(rng.randint(2, 4)):
        suggestion_id, by = _id(rng), present[n % len(present)]
        outcome = rng.choice(outcomes)
        adopted = outcome == forums.Outcome.ADOPTED
        steps.append(
            partial(forums.record_suggestion, suggestion_id=suggestion_id, by_worker=by,
                    text="建议增加上门代办服务")
        )  # fmt: skip
        steps.append(
            partial(forums.follow_up, suggestion_id=suggestion_id, outcome=outcome,
                    note="" if adopted else "已研究",
                    service_list_item="上门代办" if adopted else None, by="seed",
                    on=day + 2 * WEEK)
        )  # fmt: skip
    out.build(forums.stream_id(forum_id), forums.evolve, steps)


def _secondment(
    out: _Streams, rng: random.Random, worker: uuid.UUID, starts_on: date, today: date
) -> None:
    secondment_id = _id(rng)
    ends_on = starts_on + timedelta(days=rng.choice((30, 60, 90)))
    goals = ["熟悉便民服务大厅业务", "独立受理社保业务"]
    steps: list[Callable[[Any], list[DomainEvent]]] = [
        lambda _: secondments.arrange(
            secondment_id=secondment_id, worker_id=worker,
            host_kind=secondments.HostKind.SERVICE_HALL, host="便民服务大厅", starts_on=starts_on,
            ends_on=ends_on, mentor="李芳", goals=goals,
        )
    ]  # fmt: skip
    if ends_on <= today:
        steps.append(
            lambda x: secondments.evaluate(
                x, evaluated_on=ends_on, rating=rng.choice(list(secondments.Rating)),
                goals_met=[True, rng.random() < 0.8], summary="完成跟班学习", by="admin-seed",
                today=today,
            )
        )  # fmt: skip
    out.build(secondments.stream_id(secondment_id), secondments.evolve, steps)
