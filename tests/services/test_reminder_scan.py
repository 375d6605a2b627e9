"""The reminder scan costs what is new, not what exists: a few statements a pass whatever the data, nothing
inserted by a pass after a pass, one reminder per item however many workers scan at once, and the keys are the
strings the engine wrote before (issue 9), so a reminder raised by an older version is not raised again."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from threading import Barrier
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, literal
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, func, select
from sqlmodel.sql.sqltypes import UTCDateTime

import bench.reminders_before as before
import services.registry  # noqa: F401 - every screen's reminder rules
from models.common import clock
from models.mail import OutboxMessage, Reminder
from services.mail.reminders import RULES, Scan, local_text, run_reminders, utc_text
from services.platform.config import get_settings
from services.platform.db import session_scope
from services.platform.demo import seed_demo

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements `engine` sends to the database inside the block."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def seeded(engine: Engine, candidates: int) -> Engine:
    """`engine`'s database emptied and filled by seed-demo with `candidates` candidates, as of NOW."""
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    clock.freeze(NOW)
    try:
        with session_scope(engine) as session:
            seed_demo(session=session, candidates=candidates)
            session.commit()
    finally:
        clock.freeze(None)
    return engine


def scan(engine: Engine, at: datetime = NOW) -> dict[str, int]:
    return run_reminders(engine=engine, now=at, settings=get_settings())


def kinds_of_reminder() -> int:
    """How many SELECTs a scan makes when nothing is new: one per kind of reminder the rules raise."""
    return sum(1 for fn in RULES.values() for _ in fn(Scan(NOW), get_settings()))


def raised(engine: Engine, rules: object = None) -> list[tuple[str, str, str, int]]:
    """The reminders raised (of `rules` only, when given: the engine before issue 9 knew only its own)."""
    with Session(engine) as s:
        rows = sorted(s.exec(select(Reminder.rule, Reminder.item_key, Reminder.window, Reminder.user_id)).all())
    return [r for r in rows if rules is None or r[0] in rules]  # type: ignore[operator]


def only(counts: dict[str, int], rules: object) -> dict[str, int]:
    """`counts` of the rules the engine before issue 9 knew (later screens' rules came on top)."""
    return {k: v for k, v in counts.items() if k in rules}  # type: ignore[operator]


def test_a_scan_issues_the_same_few_statements_at_100_and_at_1000_candidates(engine) -> None:
    kinds = kinds_of_reminder()
    counts = {}
    for size in (100, 1000):
        seeded(engine, size)
        with statements(engine) as first:
            new = scan(engine)
        with statements(engine) as second:
            again = scan(engine, NOW + timedelta(seconds=30))
        counts[size] = (sum(new.values()), len(first), len(second))
        assert sum(again.values()) == 0
        # Nothing new: one SELECT per kind. Something new: that SELECT, the people, the reminders, the mail keys
        # and the mails — five at most, however many items.
        assert len(second) == kinds
        assert len(first) <= 5 * kinds
    assert counts[1000][0] > 5 * counts[100][0] / 2  # ten times the data did raise many more reminders


def test_two_workers_scanning_at_once_raise_each_reminder_once_and_mail_it_once(engine) -> None:
    seeded(engine, 200)
    start = Barrier(2)

    def run() -> dict[str, int]:
        start.wait()
        return scan(engine)

    with ThreadPoolExecutor(2) as pool:
        results = [f.result() for f in [pool.submit(run), pool.submit(run)]]
    rows = raised(engine)
    assert sum(sum(r.values()) for r in results) == len(rows) > 10
    assert len(set(rows)) == len(rows)
    with Session(engine) as s:
        keys = list(
            s.exec(select(OutboxMessage.idempotency_key).where(OutboxMessage.idempotency_key.startswith("reminder:")))
        )
        mailed = s.exec(select(func.count()).select_from(Reminder).where(Reminder.mailed)).one()
    assert len(keys) == len(set(keys)) == mailed


def test_reminders_raised_by_the_engine_before_issue_9_are_not_raised_again(engine) -> None:
    seeded(engine, 300)
    old = before.run_reminders(engine=engine, now=NOW, settings=get_settings())
    assert (
        set(old) == {"stale_application", "scorecard_due", "feedback_due", "next_contact", "pool_revisit"} <= set(RULES)
    )
    assert all(old[name] > 0 for name in ("stale_application", "scorecard_due", "feedback_due", "next_contact"))
    assert only(scan(engine), old) == dict.fromkeys(old, 0)
    later = NOW + timedelta(days=1, hours=2)  # new windows: the two engines raise the same ones
    old_rows = set(raised(engine, old))
    old_later = before.run_reminders(engine=engine, now=later, settings=get_settings())
    assert sum(old_later.values()) > 0
    assert only(scan(engine, later), old) == dict.fromkeys(old, 0)
    assert len(raised(engine, old)) == len(old_rows) + sum(old_later.values())


def test_the_scan_raises_exactly_the_keys_the_engine_before_issue_9_raised(engine) -> None:
    seeded(engine, 300)
    new = scan(engine)
    rows = raised(engine)
    with Session(engine) as s:
        s.exec(Reminder.__table__.delete())  # type: ignore[attr-defined]
        # Only the reminders' mail: the demo's own candidate mail stays (other rows point at it).
        s.exec(
            OutboxMessage.__table__.delete().where(  # type: ignore[attr-defined]
                col(OutboxMessage.idempotency_key).like("reminder:%")
            )
        )
        s.commit()
    old = before.run_reminders(engine=engine, now=NOW, settings=get_settings())
    assert old == only(new, old)
    assert raised(engine) == [r for r in rows if r[0] in old]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Europe/Berlin"])
def test_times_in_keys_are_formatted_in_sql_as_python_formats_them(engine, zone) -> None:
    tz = ZoneInfo(zone)
    # Around the spring and autumn clock changes of 2026, and at the last microsecond of a minute.
    instants = [
        datetime(2026, 3, 8, 6, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, 1, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 59, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 1, tzinfo=UTC),
    ]
    fmt = "%Y-%m-%d %H:%M"
    with Session(engine) as s:
        for since in (datetime(2026, 2, 25, tzinfo=UTC), datetime(2026, 10, 20, tzinfo=UTC)):
            until = since + timedelta(days=14)
            for at in instants:
                if not since <= at <= until:
                    continue
                value = literal(at, UTCDateTime())
                got = s.exec(select(local_text(value, fmt, tz, since, until), utc_text(value, "%Y%m%d%H%M"))).one()
                assert tuple(got) == (at.astimezone(tz).strftime(fmt), at.strftime("%Y%m%d%H%M")), at
