"""A forum as held, the suggestions made there, and what became of each."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from wangge.events import DomainEvent
from wangge.training.domain import forums
from wangge.training.domain.forums import Forum, Outcome
from wangge.training.domain.sessions import InvalidTraining, WrongState

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 27, 16, 0, tzinfo=CST)
HELD_AT = datetime(2026, 11, 26, 14, 30, tzinfo=CST)
HELD_ON = HELD_AT.date()


def run(state: Forum | None, events: list[DomainEvent]) -> Forum:
    assert events
    for event in events:
        state = forums.evolve(state, event, 0)
    assert state is not None
    return state


def hold(
    participants: list[uuid.UUID], *, held_at: datetime = HELD_AT, guests: list[str] | None = None
) -> list[DomainEvent]:
    return forums.hold(
        forum_id=uuid.uuid4(), topic="网格员服务清单征求意见", held_at=held_at,
        place="街道三楼会议室", participants=participants,
        guests=["社区书记 王敏"] if guests is None else guests, summary="", now=NOW,
    )  # fmt: skip


def held() -> tuple[Forum, list[uuid.UUID]]:
    workers = [uuid.uuid4(), uuid.uuid4()]
    return run(None, hold(workers)), workers


def with_suggestion() -> tuple[Forum, uuid.UUID]:
    forum, workers = held()
    suggestion_id = uuid.uuid4()
    forum = run(
        forum,
        forums.record_suggestion(
            forum, suggestion_id=suggestion_id, by_worker=workers[0], text="增加代办老年卡"
        ),
    )
    return forum, suggestion_id


def follow_up(
    forum: Forum,
    suggestion_id: uuid.UUID,
    outcome: Outcome,
    *,
    note: str = "",
    service_list_item: str | None = None,
    on: date = HELD_ON,
) -> list[DomainEvent]:
    return forums.follow_up(
        forum, suggestion_id=suggestion_id, outcome=outcome, note=note,
        service_list_item=service_list_item, by="zhang", on=on,
    )  # fmt: skip


def test_the_stream_is_named_by_the_forum() -> None:
    forum_id = uuid.uuid4()
    assert forums.stream_id(forum_id) == f"forum-{forum_id}"


def test_a_forum_is_recorded_once_held_never_ahead() -> None:
    workers = [uuid.uuid4()]
    [event] = hold(workers)
    assert isinstance(event, forums.ForumHeld)
    forum = run(None, [event])
    assert (forum.forum_id, forum.held_at) == (event.forum_id, HELD_AT)
    assert forum.participants == frozenset(workers)
    assert forum.suggestions == {}
    assert hold(workers, held_at=NOW)
    with pytest.raises(InvalidTraining) as refused:
        hold(workers, held_at=NOW + timedelta(minutes=1))
    assert refused.value.field == "held_at"
    with pytest.raises(ValueError, match="ForumHeld"):
        forums.evolve(
            None,
            forums.SuggestionRecorded(forum_id=uuid.uuid4(), suggestion_id=uuid.uuid4(), text="t"),
            1,
        )


def test_participants_are_one_to_five_hundred_each_named_once() -> None:
    assert hold([uuid.uuid4() for _ in range(500)])
    with pytest.raises(ValidationError):
        hold([uuid.uuid4() for _ in range(501)])
    with pytest.raises(ValidationError):
        hold([])
    worker = uuid.uuid4()
    with pytest.raises(InvalidTraining) as refused:
        hold([worker, uuid.uuid4(), worker])
    assert refused.value.field == "participants"


def test_guests_are_up_to_a_hundred_names() -> None:
    assert hold([uuid.uuid4()], guests=[])
    assert hold([uuid.uuid4()], guests=[f"居民{i}" for i in range(100)])
    with pytest.raises(ValidationError):
        hold([uuid.uuid4()], guests=[f"居民{i}" for i in range(101)])
    with pytest.raises(ValidationError):
        hold([uuid.uuid4()], guests=[""])


def test_a_suggestion_comes_from_a_participant_or_a_guest() -> None:
    forum, workers = held()
    by_worker, by_guest = uuid.uuid4(), uuid.uuid4()
    events = [
        *forums.record_suggestion(forum, suggestion_id=by_worker, by_worker=workers[1], text="a"),
        *forums.record_suggestion(forum, suggestion_id=by_guest, by_worker=None, text="b"),
    ]
    assert isinstance(events[0], forums.SuggestionRecorded)
    assert events[0].by_worker == workers[1]
    forum = run(forum, events)
    assert forum.suggestions == {by_worker: None, by_guest: None}
    with pytest.raises(InvalidTraining) as stranger:
        forums.record_suggestion(
            forum, suggestion_id=uuid.uuid4(), by_worker=uuid.uuid4(), text="c"
        )
    assert stranger.value.field == "by_worker"
    with pytest.raises(WrongState) as again:
        forums.record_suggestion(forum, suggestion_id=by_guest, by_worker=None, text="b")
    assert again.value.field == "suggestion_id"
    with pytest.raises(InvalidTraining) as blank:
        forums.record_suggestion(forum, suggestion_id=uuid.uuid4(), by_worker=None, text=" ")
    assert blank.value.field == "text"
    with pytest.raises(ValidationError):
        forums.record_suggestion(
            forum, suggestion_id=uuid.uuid4(), by_worker=None, text="长" * 2001
        )


def test_an_adopted_suggestion_names_what_the_service_list_gained() -> None:
    forum, suggestion_id = with_suggestion()
    [event] = follow_up(forum, suggestion_id, Outcome.ADOPTED, service_list_item="代办老年卡")
    assert isinstance(event, forums.SuggestionFollowedUp)
    assert (event.outcome, event.service_list_item) == ("adopted", "代办老年卡")
    assert run(forum, [event]).suggestions == {suggestion_id: Outcome.ADOPTED}
    for item in (None, "  "):
        with pytest.raises(InvalidTraining) as refused:
            follow_up(forum, suggestion_id, Outcome.ADOPTED, service_list_item=item)
        assert refused.value.field == "service_list_item"


def test_only_an_adopted_suggestion_adds_to_the_service_list() -> None:
    forum, suggestion_id = with_suggestion()
    with pytest.raises(InvalidTraining) as refused:
        follow_up(forum, suggestion_id, Outcome.ANSWERED, note="已答复", service_list_item="x")
    assert refused.value.field == "service_list_item"


def test_an_answered_suggestion_carries_the_answer() -> None:
    forum, suggestion_id = with_suggestion()
    [event] = follow_up(forum, suggestion_id, Outcome.ANSWERED, note="已由社区办理")
    assert run(forum, [event]).suggestions[suggestion_id] == Outcome.ANSWERED
    for note in ("", "  "):
        with pytest.raises(InvalidTraining) as refused:
            follow_up(forum, suggestion_id, Outcome.ANSWERED, note=note)
        assert refused.value.field == "note"


def test_a_declined_suggestion_is_given_the_reason() -> None:
    forum, suggestion_id = with_suggestion()
    [event] = follow_up(forum, suggestion_id, Outcome.DECLINED, note="不属于网格职责")
    assert run(forum, [event]).suggestions[suggestion_id] == Outcome.DECLINED
    with pytest.raises(InvalidTraining) as refused:
        follow_up(forum, suggestion_id, Outcome.DECLINED)
    assert refused.value.field == "note"


def test_a_follow_up_needs_a_known_suggestion_and_comes_once() -> None:
    forum, suggestion_id = with_suggestion()
    with pytest.raises(InvalidTraining) as unknown:
        follow_up(forum, uuid.uuid4(), Outcome.ANSWERED, note="n")
    assert unknown.value.field == "suggestion_id"
    forum = run(forum, follow_up(forum, suggestion_id, Outcome.ANSWERED, note="n"))
    for outcome in Outcome:
        with pytest.raises(WrongState) as again:
            follow_up(forum, suggestion_id, outcome, note="n", service_list_item="x")
        assert again.value.field == "suggestion_id"


def test_a_follow_up_comes_after_the_forum() -> None:
    forum, suggestion_id = with_suggestion()
    assert follow_up(forum, suggestion_id, Outcome.ANSWERED, note="n", on=HELD_ON)
    with pytest.raises(InvalidTraining) as refused:
        follow_up(forum, suggestion_id, Outcome.ANSWERED, note="n", on=HELD_ON - timedelta(days=1))
    assert refused.value.field == "on"
