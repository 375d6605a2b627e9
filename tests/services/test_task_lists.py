"""My tasks reads each list along its index a slice at a time (`tasks.walk`): the lists are right however many
rows the slices pass over before they find enough, they take two statements per slice, and the page says when
the list is full and there may be more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Stage, utcnow
from models.followup import Contact
from services.mail import tasks
from services.mail.tasks import my_tasks, walk
from services.platform.config import get_settings


def _contact(session: Session, candidate_id: int, by: int, at, next_at) -> Contact:
    row = Contact(
        candidate_id=candidate_id,
        channel="phone",
        direction="outbound",
        outcome="reached",
        summary="通话",
        at=at,
        next_contact_at=next_at,
        by_user_id=by,
    )
    session.add(row)
    session.commit()
    return row


class Statements:
    def __init__(self, session: Session) -> None:
        self.seen: list[str] = []
        self.engine = session.get_bind()
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement: str, *_args) -> None:
        self.seen.append(statement)

    def __enter__(self) -> Statements:
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_next_contact_dates_are_found_past_a_slice_of_dates_that_no_longer_stand(session, make, monkeypatch) -> None:
    """The earliest next-contact dates are all superseded by a newer contact: the walk reads on past its first
    slice and finds the dates that stand, earliest first."""
    monkeypatch.setattr(tasks, "LIMIT", 2)  # a first slice of 4 dates, a second of at most 32
    me = make.user("recruiter")
    now = utcnow()
    standing = []
    for n in range(20):
        cand = make.candidate(actor=me)
        _contact(session, cand.id, me.id, now - timedelta(days=40), now - timedelta(days=30, hours=n))  # replaced
        if n < 3:
            standing.append((now - timedelta(days=n + 1), cand.name))
            _contact(session, cand.id, me.id, now - timedelta(days=20), now - timedelta(days=n + 1))
        else:  # a newer contact with no date: nothing stands for this candidate
            _contact(session, cand.id, me.id, now - timedelta(days=20), None)
    with Statements(session) as statements:
        found = [t for t in my_tasks(session=session, actor=me, now=now) if t.kind == "next_contact"]
    expected = sorted(standing)[:2]
    assert [(t.due_at, t.params["name"]) for t in found] == expected
    contact_statements = [s for s in statements.seen if "FROM contact" in s and "contact.next_contact_at" in s]
    # The first 4 dates and the rows kept of them (none), the next 16 (a second slice sized by the first's yield,
    # as if one had been kept) and theirs (none), then the rest at once.
    assert len(contact_statements) == 5


def test_stale_applications_of_mine_are_found_past_a_slice_of_other_peoples(session, make, monkeypatch) -> None:
    monkeypatch.setattr(tasks, "LIMIT", 2)
    me, other = make.user("recruiter"), make.user("recruiter")
    job = make.job(actor=me)
    now = utcnow()
    days = get_settings().stale_application_days

    def stale(owner, age: int) -> Application:
        cand = make.candidate(actor=owner, job=job)
        app = session.exec(select(Application).where(Application.candidate_id == cand.id)).one()
        app.stage, app.stage_changed_at = Stage.interviewing, now - timedelta(days=days + age)
        session.add(app)
        session.commit()
        return app

    for n in range(20):  # the oldest: all someone else's
        stale(other, 100 + n)
    mine = [stale(me, 10 + n) for n in range(3)]
    found = [t for t in my_tasks(session=session, actor=me, now=now) if t.kind == "stale_application"]
    assert [t.query["id"] for t in found] == [str(a.candidate_id) for a in (mine[2], mine[1])]
    assert all(t.params["stage"] == Stage.interviewing for t in found)


@pytest.mark.parametrize(
    ("first_kept", "statements"),
    [(0, 2), (4, 4), (10, 4), (50, 5), (60, 5)],
    ids=["enough in the first slice", "the rest in a second", "all in the second", "past the second", "none kept"],
)
def test_a_walk_reads_until_it_has_enough_or_its_range_ends(session, make, first_kept: int, statements: int) -> None:
    """60 keys in order and a limit of 3: `keep` keeps the keys from position `first_kept` on. The walk returns
    the first three kept, in order: from a first slice of 6 keys (2 × 3) where that holds them; else from a second
    slice sized by what the first kept (one found of the first 6: 2 × 2 × 6 keys for the two still wanted; none
    found: 16 × 3, the most a second slice reads); and only past that, from the rest of the range in one statement."""
    owner = make.user("recruiter")
    ids = sorted(make.candidate(actor=owner).id for _ in range(60))
    bound = ids[first_kept] if first_kept < len(ids) else ids[-1] + 1
    keys = select(Candidate.id).where(Candidate.owner_id == owner.id).order_by(Candidate.id)
    with Statements(session) as seen:
        rows = walk(
            session,
            keys,
            lambda among: (
                select(Candidate.id).where(among(Candidate.id), col(Candidate.id) >= bound).order_by(Candidate.id)
            ),
            limit=3,
        )
    assert list(rows) == ids[first_kept : first_kept + 3]
    assert len(seen.seen) == statements


def _every_task_read(session: Session, actor, now) -> list[tasks.Task]:
    """My tasks the long way: every provider read in full (no `due_by`), merged, the LIMIT most urgent."""
    found = [task for fn in tasks.asked_in_order() for task in fn(session, actor, now, None)]
    return sorted(found, key=lambda t: t.due_at)[: tasks.LIMIT]


@pytest.mark.parametrize("limit", [3, 10, 40])
def test_my_tasks_reading_only_what_can_still_make_the_list_lists_what_reading_everything_lists(
    session, limit: int, monkeypatch
) -> None:
    """Once LIMIT tasks are found, the providers asked after read only what falls due by the last of them (and
    those whose tasks cannot be that old are not asked): for every demo account, the list is the one that
    reading every provider in full and keeping the most urgent gives."""
    from models.user import User
    from services.platform.demo import seed_demo

    seed_demo(session=session, candidates=150, seed=7)
    monkeypatch.setattr(tasks, "LIMIT", limit)
    now = utcnow()
    for user in session.exec(select(User)).all():
        found = my_tasks(session=session, actor=user, now=now)
        assert found == _every_task_read(session, user, now), user.email
        assert len(found) <= limit


def test_once_older_next_contact_dates_fill_my_tasks_the_newer_lists_are_not_read(session, make, monkeypatch) -> None:
    """Next-contact dates months old fill the list: the lists whose tasks are at most weeks old (feedback owed,
    scorecards) issue no statement, the stale applications' walk reads an empty range, and nothing newer shows."""
    monkeypatch.setattr(tasks, "LIMIT", 2)
    me = make.user("recruiter")
    now = utcnow()
    for n in range(3):
        cand = make.candidate(actor=me)
        _contact(session, cand.id, me.id, now - timedelta(days=200), now - timedelta(days=180 - n))
    make.candidate(actor=me)  # a candidate of mine in a job, whose application may go stale
    with Statements(session) as statements:
        found = my_tasks(session=session, actor=me, now=now)
    assert [t.kind for t in found] == ["next_contact", "next_contact"]
    assert [t.due_at for t in found] == sorted(t.due_at for t in found)
    assert not [s for s in statements.seen if "interviewpanelist" in s or "last_end_unheard" in s]
    assert [t.kind for t in _every_task_read(session, me, now)] == ["next_contact", "next_contact"]


def test_tasks_of_two_lists_falling_due_hours_apart_are_interleaved_exactly(session, make, monkeypatch) -> None:
    """Five stale applications fill the list of four first (due 1, 3, 6, 8 and 12 hours past a moment); the
    next-contact dates, asked after, are read only up to the fourth (8 h): the one at 0 h and at 5 h make the list,
    the one at 10 h does not — as when every list is read in full."""
    monkeypatch.setattr(tasks, "LIMIT", 4)
    me = make.user("recruiter")
    job = make.job(actor=me)
    now = utcnow()
    days = timedelta(days=get_settings().stale_application_days)
    moment = now - timedelta(days=3)
    for hours in (1, 3, 6, 8, 12):
        cand = make.candidate(actor=me, job=job)
        app = session.exec(select(Application).where(Application.candidate_id == cand.id)).one()
        app.stage, app.stage_changed_at = Stage.interviewing, moment + timedelta(hours=hours) - days
        session.add(app)
        session.commit()
    for hours in (0, 5, 10):
        cand = make.candidate(actor=me)
        _contact(session, cand.id, me.id, moment - timedelta(days=1), moment + timedelta(hours=hours))
    found = my_tasks(session=session, actor=me, now=now)
    assert [(t.kind, round((t.due_at - moment).total_seconds() / 3600)) for t in found] == [
        ("next_contact", 0),
        ("stale_application", 1),
        ("stale_application", 3),
        ("next_contact", 5),
    ]
    assert found == _every_task_read(session, me, now)
