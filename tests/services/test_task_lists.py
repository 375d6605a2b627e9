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
from services import tasks
from services.config import get_settings
from services.tasks import my_tasks, walk


def _contact(session: Session, candidate_id: int, by: int, at, next_at) -> Contact:  # noqa: ANN001
    row = Contact(candidate_id=candidate_id, channel="phone", direction="outbound", outcome="reached",
                  summary="通话", at=at, next_contact_at=next_at, by_user_id=by)
    session.add(row)
    session.commit()
    return row


class Statements:
    def __init__(self, session: Session) -> None:
        self.seen: list[str] = []
        self.engine = session.get_bind()
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement: str, *_args) -> None:  # noqa: ANN001
        self.seen.append(statement)

    def __enter__(self) -> Statements:
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_next_contact_dates_are_found_past_a_slice_of_dates_that_no_longer_stand(session, make, monkeypatch) -> None:
    """The earliest next-contact dates are all superseded by a newer contact: the walk reads on past its first
    slice and finds the dates that stand, earliest first."""
    monkeypatch.setattr(tasks, "LIMIT", 2)  # a first slice of 16 dates
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
    assert len(contact_statements) == 3  # the first 16 dates, the rows kept of them (none), then the rest at once


def test_stale_applications_of_mine_are_found_past_a_slice_of_other_peoples(session, make, monkeypatch) -> None:
    monkeypatch.setattr(tasks, "LIMIT", 2)
    me, other = make.user("recruiter"), make.user("recruiter")
    job = make.job(actor=me)
    now = utcnow()
    days = get_settings().stale_application_days

    def stale(owner, age: int) -> Application:  # noqa: ANN001
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


@pytest.mark.parametrize(("first_kept", "statements"), [(0, 2), (26, 3), (30, 3)],
                         ids=["enough in the first slice", "in the second", "none kept"])
def test_a_walk_reads_until_it_has_enough_or_its_range_ends(session, make, first_kept: int, statements: int) -> None:
    """30 keys in order and a limit of 3 (a first slice of 24): `keep` keeps the keys from position `first_kept`
    on. The walk returns the first three kept, in order, reading the rest of the range (in one statement) only
    when the first slice had too few."""
    owner = make.user("recruiter")
    ids = sorted(make.candidate(actor=owner).id for _ in range(30))
    bound = ids[first_kept] if first_kept < len(ids) else ids[-1] + 1
    keys = select(Candidate.id).where(Candidate.owner_id == owner.id).order_by(Candidate.id)
    with Statements(session) as seen:
        rows = walk(session, keys, lambda among: select(Candidate.id)
                    .where(among(Candidate.id), col(Candidate.id) >= bound).order_by(Candidate.id), limit=3)
    assert list(rows) == ids[first_kept:first_kept + 3]
    assert len(seen.seen) == statements
