"""A worker's reminder passes are incremental between full ones: each looks only at the items whose reminder
time came since the pass before, and over days of passes raises exactly what full passes would; what becomes due
in the past (an interview entered after it happened) waits for the next full pass, at most ten minutes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from models.followup import PoolEntry
from models.mail import Reminder
from models.user import User
from services.mail.reminders import FULL_SCAN_EVERY, RULES, Rule, Scan, Scans, _new_rows, may_receive, run_reminders
from services.mail.worker import Worker
from services.platform.config import get_settings
from tests.services.test_followup import END, HOUR, MINUTE, interview, interviewed
from tests.services.test_reminder_scan import NOW, seeded

LATER = timedelta(days=365)  # a full pass every year: the passes between are incremental


def missed(engine: Engine, at: datetime) -> list[tuple[str, str, str, int]]:
    """What a full pass at `at` would raise that is not raised yet (for people who may receive it)."""
    out = []
    with Session(engine) as session:
        for fn in RULES.values():
            for found in fn(Scan(at), get_settings()):
                rows = _new_rows(session, replace(found, cap=None))  # all of them
                people = {u.id: u for u in session.exec(select(User))}
                out += [
                    (found.rule, r.item_key, r.window, r.user_id)
                    for r in rows
                    if may_receive(people.get(r.user_id), found.rule)
                ]
    return out


def test_incremental_passes_over_three_days_raise_exactly_what_full_passes_would(engine) -> None:
    seeded(engine, 300)
    with Session(engine) as s:  # two revisit days to come (the demo's fall in the weeks before NOW)
        entries = s.exec(select(PoolEntry).where(PoolEntry.status == "active").limit(2)).all()
        for n, entry in enumerate(entries, start=1):
            entry.revisit_on = (NOW + timedelta(days=n)).date()
            s.add(entry)
        s.commit()
    assert len(entries) == 2
    scans = Scans(full_every=LATER)
    first = run_reminders(engine=engine, now=NOW, settings=get_settings(), scans=scans)
    assert sum(first.values()) > 20 and scans.full_at == NOW
    at, steps = NOW, 0
    later: dict[str, int] = dict.fromkeys(RULES, 0)
    # Uneven steps (7 to 53 minutes) across the hours when reminders fall due: the daily scorecard reminders,
    # the stale periods, the feedback warnings and deadlines, the next-contact times, a revisit day's 09:00.
    while at < NOW + timedelta(days=3):
        at += timedelta(minutes=7 + (steps * 23) % 47)
        steps += 1
        scan = scans.next(at)
        assert scan.since is not None  # incremental
        for rule, n in run_reminders(engine=engine, now=at, settings=get_settings(), scans=scans).items():
            later[rule] += n
        assert missed(engine, at) == [], at
    # The days did bring new reminders of every rule, and each came with the pass it was due in.
    assert all(later.values()), later


def test_an_incremental_pass_with_nothing_new_reads_only_the_ranges_that_came(engine) -> None:
    seeded(engine, 300)
    scans = Scans()
    run_reminders(engine=engine, now=NOW, settings=get_settings(), scans=scans)
    # A moment after NOW when nothing came due (the demo's times are to the second: one may fall in the minute).
    at = NOW + MINUTE
    while missed(engine, at):
        at -= timedelta(seconds=5)
    assert at > NOW
    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, *_args) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        counts = run_reminders(engine=engine, now=at, settings=get_settings(), scans=scans)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sum(counts.values()) == 0
    assert len(seen) == sum(1 for fn in RULES.values() for _ in fn(Scan(NOW), get_settings()))  # one per kind
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL's plans are timed by bench.reminders
    # Each reads index ranges only: no table the rules read is scanned whole.
    with engine.connect() as conn:
        for statement, parameters in seen:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
            scans_of_tables = [
                line
                for line in plan
                if line.startswith("SCAN ")
                and line.split()[1]
                in ("application", "interview", "interviewpanelist", "contact", "poolentry", "candidate", "reminder")
            ]
            assert scans_of_tables == [], (statement, plan)


def test_what_becomes_due_in_the_past_is_raised_by_the_next_full_pass(engine, session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    scans = Scans()
    run_reminders(engine=engine, now=END + 30 * HOUR, settings=get_settings(), scans=scans)
    # An interview entered after it happened: its deadline (24 h after END) passed before this worker's last pass.
    interviewed(make, recruiter=recruiter)
    at = END + 30 * HOUR + MINUTE
    assert run_reminders(engine=engine, now=at, settings=get_settings(), scans=scans)["feedback_due"] == 0
    assert scans.next(at + FULL_SCAN_EVERY - 2 * MINUTE).since is not None
    at += FULL_SCAN_EVERY
    assert scans.next(at).since is None  # ten minutes after the last full pass: a full one
    assert run_reminders(engine=engine, now=at, settings=get_settings(), scans=scans)["feedback_due"] == 1
    with Session(engine) as s:
        assert s.exec(select(Reminder.window).where(Reminder.rule == "feedback_due")).all() == ["overdue"]


def test_a_new_interview_ending_is_reminded_by_the_incremental_pass_when_its_time_comes(
    engine, session, make, frozen_clock
) -> None:
    recruiter = make.user("recruiter")
    interviewed(make, recruiter=recruiter)  # ends at END; warned 20 h after, overdue 24 h after
    scans = Scans(full_every=LATER)
    run_reminders(engine=engine, now=END, settings=get_settings(), scans=scans)
    fired = []
    for at in (
        END + 19 * HOUR,
        END + 20 * HOUR - MINUTE,
        END + 20 * HOUR,
        END + 20 * HOUR + MINUTE,
        END + 24 * HOUR,
        END + 24 * HOUR + MINUTE,
    ):
        assert scans.next(at).since is not None
        fired.append(run_reminders(engine=engine, now=at, settings=get_settings(), scans=scans)["feedback_due"])
    assert fired == [0, 0, 1, 0, 1, 0]


def test_a_second_interview_moves_the_clock_for_the_incremental_pass_too(engine, session, make, frozen_clock) -> None:
    recruiter = make.user("recruiter")
    s = interviewed(make, recruiter=recruiter)
    interview(make, s, starts=END + 2 * HOUR)  # ends END + 3 h
    scans = Scans(full_every=LATER)
    run_reminders(engine=engine, now=END, settings=get_settings(), scans=scans)
    # The first interview's warning time comes, but the application's last interview is the second: nothing.
    assert run_reminders(engine=engine, now=END + 20 * HOUR, settings=get_settings(), scans=scans)["feedback_due"] == 0
    assert run_reminders(engine=engine, now=END + 23 * HOUR, settings=get_settings(), scans=scans)["feedback_due"] == 1
    with Session(engine) as db:
        key = db.exec(select(Reminder.item_key).where(Reminder.rule == "feedback_due")).one()
    assert key.endswith((END + 3 * HOUR).strftime("%Y%m%d%H%M"))


# --------------------------------------------------------------------------- when a pass is full
def test_the_first_pass_a_clock_going_back_and_a_long_gap_are_full_passes() -> None:
    scans = Scans()
    assert scans.next(NOW).since is None
    scans.done(Scan(NOW), complete=True)
    assert scans.next(NOW + MINUTE) == Scan(NOW + MINUTE, NOW)
    scans.done(Scan(NOW + MINUTE, NOW), complete=True)
    assert scans.full_at == NOW and scans.since == NOW + MINUTE
    assert scans.next(NOW - MINUTE).since is None  # the clock went back (another machine's time, a test)
    assert scans.next(NOW + FULL_SCAN_EVERY).since is None  # ten minutes since the last full pass
    assert scans.next(NOW + FULL_SCAN_EVERY - MINUTE).since == NOW + MINUTE


def test_a_pass_that_stopped_at_a_rules_cap_makes_the_next_pass_full(engine, monkeypatch) -> None:
    seeded(engine, 300)
    rules = dict(RULES)

    def capped(fn: Rule) -> Rule:
        return lambda scan, settings: [replace(found, cap=2) for found in fn(scan, settings)]

    for name, fn in rules.items():
        monkeypatch.setitem(RULES, name, capped(fn))
    scans = Scans()
    run_reminders(engine=engine, now=NOW, settings=get_settings(), scans=scans)
    assert scans.next(NOW + MINUTE).since is None  # the rest of the backlog is found by a full pass
    RULES.update(rules)
    run_reminders(engine=engine, now=NOW + MINUTE, settings=get_settings(), scans=scans)
    assert scans.next(NOW + 2 * MINUTE).since == NOW + MINUTE
    assert missed(engine, NOW + MINUTE) == []


def test_a_failed_pass_is_not_recorded_so_the_next_covers_its_time(engine, monkeypatch) -> None:
    seeded(engine, 100)
    scans = Scans()
    run_reminders(engine=engine, now=NOW, settings=get_settings(), scans=scans)

    def broken(scan: Scan, settings: object) -> list:
        raise RuntimeError("database went away")

    monkeypatch.setitem(RULES, "broken", broken)
    with pytest.raises(RuntimeError):
        run_reminders(engine=engine, now=NOW + MINUTE, settings=get_settings(), scans=scans)
    assert scans.since == NOW
    assert scans.next(NOW + 3 * MINUTE) == Scan(NOW + 3 * MINUTE, NOW)


def test_the_worker_keeps_its_passes_between_runs(engine) -> None:
    seeded(engine, 100)
    worker = Worker(engine)
    worker.run_once()
    assert worker.scans.full_at is not None
    since = worker.scans.since
    worker.run_once()
    assert worker.scans.since is not None and since is not None and worker.scans.since >= since
    assert worker.scans.full_at <= worker.scans.since
