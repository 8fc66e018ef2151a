"""Personal data in the training domain: what a person writes or is called is sealed with the
subject's key and kept in clear only redacted or masked; an erasure is recorded once."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from wangge.events.sealing import KeyRing
from wangge.governance.erasure import ErasureGround
from wangge.training.domain import erasure, forums, programmes, secondments, sessions

KEY = KeyRing.generate()
SUBJECT = uuid.uuid4()
SEAL = KeyRing.sealer(KEY, SUBJECT)
NOW = datetime(2026, 5, 1, 10, tzinfo=UTC)


def _session() -> sessions.Session:
    return sessions.Session(uuid.uuid4(), NOW - timedelta(hours=1), NOW + timedelta(hours=1), 9)


def test_an_attendance_note_is_sealed_and_redacted_in_clear() -> None:
    note = "家中有事 电话13812345678"
    [event] = sessions.record_attendance(
        _session(), worker_id=SUBJECT, attendance=sessions.Attendance.PRESENT, now=NOW,
        by="trainer", note=note, seal=SEAL,
    )  # fmt: skip
    assert isinstance(event, sessions.AttendanceRecorded)
    assert event.note == "家中有事 电话138****5678"
    assert event.sealed is not None and event.sealed.key == str(SUBJECT)
    assert KeyRing.unseal(KEY, event.sealed) == {"note": note}


def test_no_text_no_sealed_block() -> None:
    [event] = sessions.record_attendance(
        _session(), worker_id=SUBJECT, attendance=sessions.Attendance.PRESENT, now=NOW,
        by="trainer", seal=SEAL,
    )  # fmt: skip
    assert isinstance(event, sessions.AttendanceRecorded)
    assert event.sealed is None


def test_instructors_names_are_masked_and_sealed_with_the_sessions_key() -> None:
    lawyer = sessions.Instructor(name="李大律师", kind=sessions.InstructorKind.OUTSIDE,
                                 organisation="某律师事务所")  # fmt: skip
    [event] = sessions.schedule(
        session_id=SUBJECT, topic="防范非法集资", programme_id=None, module_code=None,
        instructors=[lawyer], starts_at=NOW, ends_at=NOW + timedelta(hours=2), place="会议室",
        capacity=9, materials=[], seal=SEAL,
    )  # fmt: skip
    assert isinstance(event, sessions.TrainingSessionScheduled)
    assert event.instructors[0].name == "李***"
    assert event.sealed is not None
    assert KeyRing.unseal(KEY, event.sealed) == {"instructors": ["李大律师"]}


def test_a_mentor_is_masked_even_where_a_goal_names_them() -> None:
    [event] = secondments.arrange(
        secondment_id=uuid.uuid4(), worker_id=SUBJECT, host_kind=secondments.HostKind.OTHER,
        host="司法所", starts_on=date(2026, 5, 1), ends_on=date(2026, 5, 2), mentor="陈志强",
        goals=["跟陈志强学调解"], seal=SEAL,
    )  # fmt: skip
    assert isinstance(event, secondments.SecondmentArranged)
    assert (event.mentor, event.goals) == ("陈**", ["跟陈**学调解"])
    assert event.sealed is not None
    assert KeyRing.unseal(KEY, event.sealed) == {"mentor": "陈志强", "goals": ["跟陈志强学调解"]}


def test_guests_are_masked_in_the_forums_summary_and_a_guests_suggestion_uses_its_key() -> None:
    [held] = forums.hold(
        forum_id=SUBJECT, topic="服务清单", held_at=NOW, place="社区", participants=[uuid.uuid4()],
        guests=["王敏华"], summary="王敏华建议夜间代办", now=NOW, seal=SEAL,
    )  # fmt: skip
    assert isinstance(held, forums.ForumHeld)
    assert (held.guests, held.summary) == (["王**"], "王**建议夜间代办")
    forum = forums.evolve(None, held, 1)
    suggestion_id = uuid.uuid4()
    [made] = forums.record_suggestion(
        forum, suggestion_id=suggestion_id, by_worker=None, text="夜间代办 13812345678",
        seal=SEAL,
    )  # fmt: skip
    forum = forums.evolve(forum, made, 2)
    assert forum.subject_of(suggestion_id) == SUBJECT  # a guest's: the forum's key
    assert isinstance(made, forums.SuggestionRecorded)
    assert made.text == "夜间代办 138****5678"


def test_a_reason_for_leaving_a_programme_is_sealed() -> None:
    programme = programmes.Programme(uuid.uuid4(), ("law",), frozenset({SUBJECT}))
    [event] = programmes.leave(
        programme, worker_id=SUBJECT, on=date(2026, 5, 1), reason="病假 a.b@example.com",
        seal=SEAL,
    )  # fmt: skip
    assert isinstance(event, programmes.WorkerLeftProgramme)
    assert event.reason == "病假 a***@example.com"
    assert event.sealed is not None


def test_an_erasure_is_recorded_once_with_the_first_ground() -> None:
    [event] = erasure.erase(
        None, subject_id=SUBJECT, subject=erasure.Subject.WORKER,
        legal_ground=ErasureGround.CONSENT_WITHDRAWN,
    )  # fmt: skip
    state = erasure.evolve(None, event, 1)
    assert erasure.stream_id(SUBJECT) == f"erasure-{SUBJECT}"
    again = erasure.erase(
        state, subject_id=SUBJECT, subject=erasure.Subject.WORKER,
        legal_ground=ErasureGround.PURPOSE_ACHIEVED,
    )  # fmt: skip
    assert again == []
    assert state.legal_ground == ErasureGround.CONSENT_WITHDRAWN


def test_events_written_before_sealing_stay_readable() -> None:
    old = {"session_id": str(SUBJECT), "worker_id": str(SUBJECT), "attendance": "present",
           "recorded_by": "t", "note": "旧的备注"}  # fmt: skip
    event = sessions.AttendanceRecorded.model_validate(old)
    assert (event.note, event.sealed) == ("旧的备注", None)
