"""The reminder engine: rules say in SQL which items may need a reminder now; each fires once per item, window
and person.

A rule yields `Found`s: a SELECT whose labelled columns `item_key`, `window` and `user_id` are the reminder's
unique key, computed in SQL (with `key`, `utc_text`, `local_text`, `date_text` and `elapsed` below), and a
function writing the words of one reminder from a row. The engine keeps only the rows no reminder was raised
for yet (NOT EXISTS against `reminder`, in the same statement), so a pass costs what is new, not what exists:
with nothing new, one SELECT per kind of reminder. The new ones are written in one INSERT … ON CONFLICT DO
NOTHING … RETURNING, so however often it runs and however many workers run it, only the first insert wins and
only that one queues a mail (or, for people who chose the daily digest, waits for the digest). Later screens
add rules with the `@rule` decorator, e.g.

    @rule("offer_expiring", recipients=Cap.follow_up)
    def offer_expiring(now, settings):
        query = select(key("offer:", Offer.id).label("item_key"), date_text(Offer.expires_on).label("window"),
                       col(Offer.owner_id).label("user_id"), Candidate.name).join(…).where(…)
        yield Found("offer_expiring", query, lambda row: Words(title_zh=…, title_en=…, detail_zh=…, …))

The keys are the strings the engine wrote before it computed them in SQL (issue 9), so a reminder raised by an
older version is not raised again: `tests/services/test_reminder_scan.py` holds the two to the same keys.

A pass is full or incremental (`Scan`). A full pass looks at every item a rule could remind of. A worker keeps
the time of its last pass (`Scans`) and then looks only at the items whose reminder time came since — with
`Scan.came`, which each rule applies to the time its reminders count from (an index range per reminder time)
— so a minute's pass costs what the minute brought. What becomes due in the past (an interview entered after
it happened, a job reopened, a candidate given to a new owner, the rest of a backlog larger than a pass's cap)
is caught by the full pass the worker makes every `FULL_SCAN_EVERY`, at start, and after any gap.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    Row,
    Select,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    union_all,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.type_api import TypeEngine
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import Stage, utcnow
from models.job import Job
from models.mail import OutboxMessage, Reminder
from models.user import User
from services.mail.outbox import queue_template, queue_templates
from services.platform.config import Settings, get_settings
from services.platform.db import session_scope, upsert_insert
from services.platform.i18n import fmt_date, fmt_datetime, t, tn
from services.platform.policy import Cap, holds


@dataclass
class ReminderItem:
    rule: str
    item_key: str
    window: str
    user_id: int
    title_zh: str
    title_en: str
    detail_zh: str
    detail_en: str
    link: str
    due: str = ""


@dataclass(frozen=True)
class Words:
    """What one reminder says, in both languages, and where it leads."""

    title_zh: str
    title_en: str
    detail_zh: str
    detail_en: str
    link: str
    due: str = ""


def texts(msgid: str, /, *, tz: tzinfo | None = None, **params: Any) -> tuple[str, str]:
    """The text `msgid` in Chinese and in English, for `Words`: a reminder is written once, when it is raised, and
    read in its recipient's language (the mail, the digest). A datetime parameter is written with Babel in each
    language, in time zone `tz`."""
    return _both(msgid, None, tz, params)


def ntexts(msgid: str, n: int, /, *, tz: tzinfo | None = None, **params: Any) -> tuple[str, str]:
    """`texts` in the plural form that count `n` takes in each language ("1 day", "2 days")."""
    return _both(msgid, n, tz, params)


def _both(msgid: str, n: int | None, tz: tzinfo | None, params: dict[str, Any]) -> tuple[str, str]:
    def one(lang: str) -> str:
        filled = {k: fmt_datetime(v, lang, tz) if isinstance(v, datetime) else v for k, v in params.items()}
        return t(msgid, lang, **filled) if n is None else tn(msgid, n, lang, **filled)

    return one("zh"), one("en")


@dataclass(frozen=True)
class Found:
    """One kind of reminder a rule raises: `query` selects the items that may need one now (labelled columns
    item_key, window, user_id, and whatever `words` reads), `words` writes a new one's text. At most `cap` new
    ones a pass (the rest come with the next)."""

    rule: str
    query: Select[*tuple[Any, ...]]
    words: Callable[[Row[Any]], Words]
    cap: int | None = None


FULL_SCAN_EVERY = timedelta(minutes=10)
SCAN_OVERLAP = timedelta(minutes=2)  # an incremental pass looks this far before the last one: no gap at the seam


@dataclass(frozen=True)
class Scan:
    """One pass of the rules at `now`: full (`since` None) or incremental — only the items whose reminder time
    came after `since`, the previous pass's instant."""

    now: datetime
    since: datetime | None = None

    def came(
        self, column: Any, offsets: Sequence[timedelta], within: tuple[datetime, datetime], *also: Any
    ) -> ColumnElement[bool]:
        """SQL: `column` lies `within` (both ends included) and, for an incremental pass, `column + offset` came
        after the previous pass (less the overlap) and by now for one of `offsets`: an OR of the `ranges`."""
        return or_(*self.ranges(column, offsets, within, *also))

    def ranges(
        self, column: Any, offsets: Sequence[timedelta], within: tuple[datetime, datetime], *also: Any
    ) -> list[ColumnElement[bool]]:
        """`came` as a list of conditions, one per range of `column` (at least one), each with the conditions
        `also` repeated, so that an index on (`also`'s columns, `column`) serves each: a query can OR them or
        read each range in an arm of a UNION ALL, and then reads only the ranges, not all of `within`."""
        first, last = within
        if self.since is None:
            return [and_(*also, column >= first, column <= last)]
        ranges: list[tuple[datetime, datetime]] = []
        for lo, hi in sorted((self.since - SCAN_OVERLAP - o, self.now - o) for o in offsets):
            if ranges and lo <= ranges[-1][1]:
                ranges[-1] = (ranges[-1][0], max(hi, ranges[-1][1]))
            else:
                ranges.append((lo, hi))
        terms = [
            and_(*also, column > lo if lo >= first else column >= first, column <= min(hi, last))
            for lo, hi in ranges
            if hi >= first and lo < last
        ]
        return terms or [literal(False)]

    def union(
        self,
        query: Select[*tuple[Any, ...]],
        column: Any,
        offsets: Sequence[timedelta],
        within: tuple[datetime, datetime],
        *also: Any,
    ) -> Any:
        """`query` once per range of `ranges`, in the arms of a UNION ALL: each arm reads one index range."""
        return union_all(*(query.where(term) for term in self.ranges(column, offsets, within, *also)))


@dataclass
class Scans:
    """A worker's memory of its passes: when the last one ran and when the last full one did. `next` says
    what the coming pass is; `done` records a pass that went through (a failed one is not recorded, so the
    next covers its time)."""

    full_every: timedelta = FULL_SCAN_EVERY
    since: datetime | None = None
    full_at: datetime | None = None

    def next(self, now: datetime) -> Scan:
        if (
            self.since is None
            or self.full_at is None
            or not self.full_at <= self.since <= now
            or now - self.full_at >= self.full_every
        ):
            return Scan(now)
        return Scan(now, self.since)

    def done(self, scan: Scan, *, complete: bool) -> None:
        """Record `scan`; one that left items for later (a rule at its cap) makes the next pass full."""
        self.since = scan.now
        if scan.since is None:
            self.full_at = scan.now
        if not complete:
            self.full_at = None


Rule = Callable[[Scan, Settings], Iterable[Found]]
RULES: dict[str, Rule] = {}
RULES_COMPLETE = False  # set by services.registry once every screen's rules are registered
# The capability a reminder is for, by the item's rule (services.platform.policy): a person who no longer holds
# it (an owner who stopped recruiting, a manager whose role was removed) is not reminded. No entry: any role will do.
RECIPIENTS: dict[str, Cap] = {}


def rule(name: str, recipients: Cap | None = None) -> Callable[[Rule], Rule]:
    """Register a reminder rule under `name`, for people holding `recipients` (any role when None)."""

    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        fn.reminder_rule = name  # type: ignore[attr-defined]  # found by tests/services/test_registry.py
        if recipients is not None:
            RECIPIENTS[name] = recipients
        return fn

    return register


def may_receive(person: User | None, rule_name: str) -> bool:
    """True when `person` is active and still holds the capability the rule's reminders are for."""
    if person is None or not person.is_active or not person.role_set:
        return False
    cap = RECIPIENTS.get(rule_name)
    return cap is None or holds(person, cap)


def candidate_link(settings: Settings, candidate_id: int) -> str:
    """The address of a candidate's page: the Candidates page is the landing page, served at the root."""
    return f"{settings.base_url.rstrip('/')}/?id={candidate_id}"


def _local(value: datetime, settings: Settings) -> str:
    # The due time reminders store once for both languages: the pattern is numeric, the same in each locale.
    return fmt_datetime(value, "zh", settings.tz)


# --------------------------------------------------------------------------- keys computed in SQL
# SQLite and PostgreSQL format times differently (strftime on the stored text; to_char on timestamptz), so the
# few formats keys use are one construct compiled for each. Only %Y %m %d %H %M are supported.
_PG_FORMAT = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH24", "%M": "MI"}


class _TimeText(FunctionElement[str]):
    """A UTC timestamp shifted by `seconds` and formatted with `fmt` (strftime codes), as Python would."""

    type = String()
    # The format and the shift travel as literal SQL arguments, so they are part of the statement's cache key
    # and the compiled SQL is reused from pass to pass.
    inherit_cache = True
    name = "time_text"

    def __init__(self, value: Any, fmt: str, seconds: int = 0) -> None:
        if "'" in fmt or any(c not in "%YmdHM-: " for c in fmt):
            raise ValueError(f"unsupported time format {fmt!r}")
        pg = fmt
        for code, pg_code in _PG_FORMAT.items():
            pg = pg.replace(code, pg_code)
        super().__init__(
            value, literal_column(f"'{fmt}'"), literal_column(f"'{pg}'"), literal_column(f"'{int(seconds):+d} seconds'")
        )


@compiles(_TimeText, "sqlite")
def _time_text_sqlite(element: _TimeText, compiler: Any, **kw: Any) -> str:
    value, fmt, _pg, shift = (compiler.process(c, **kw) for c in element.clauses)
    # Whole seconds first: Python's strftime truncates the fraction; SQLite would round it to milliseconds.
    return f"strftime({fmt}, substr({value}, 1, 19), {shift})"


@compiles(_TimeText, "postgresql")
def _time_text_postgresql(element: _TimeText, compiler: Any, **kw: Any) -> str:
    value, _fmt, fmt, shift = (compiler.process(c, **kw) for c in element.clauses)
    return f"to_char(({value} AT TIME ZONE 'UTC') + interval {shift}, {fmt})"


class _DateText(FunctionElement[str]):
    """A DATE as YYYY-MM-DD (`date.isoformat()`)."""

    type = String()
    inherit_cache = True
    name = "date_text"


@compiles(_DateText, "sqlite")
def _date_text_sqlite(element: _DateText, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(_DateText, "postgresql")
def _date_text_postgresql(element: _DateText, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"


def _text(part: Any) -> ColumnElement[str]:
    if isinstance(part, str):
        return cast(literal(part, String), String)
    return part if isinstance(getattr(part, "type", None), String) else cast(part, String)


def key(*parts: Any) -> ColumnElement[str]:
    """SQL: the parts (constant strings, numbers, texts) joined, like an f-string: key("application:", App.id)."""
    out = _text(parts[0])
    for part in parts[1:]:
        out = out + _text(part)
    return out


def utc_text(value: Any, fmt: str) -> ColumnElement[str]:
    """SQL: f"{value:fmt}" of a UTC timestamp column (the engine reads them back as aware UTC)."""
    return _TimeText(value, fmt)


def date_text(value: Any) -> ColumnElement[str]:
    """SQL: value.isoformat() of a DATE column."""
    return _DateText(value)


def _offsets(tz: tzinfo, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
    """(from when, UTC offset in seconds) for `tz` between two instants: one entry unless the zone changes
    its clock in between."""

    def offset(at: datetime) -> int:
        return int(at.astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    out = [(since, offset(since))]
    at = since
    while at < until:
        step = min(at + timedelta(hours=1), until)
        if offset(step) != out[-1][1]:
            lo, hi = at, step  # the change lies in (lo, hi]: find its second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (lo, mid) if offset(mid) != out[-1][1] else (mid, hi)
            out.append((hi, offset(hi)))
        at = step
    return out


def local_text(value: Any, fmt: str, tz: tzinfo, since: datetime, until: datetime) -> ColumnElement[str]:
    """SQL: f"{value.astimezone(tz):fmt}" for a UTC timestamp column whose values the query keeps between `since`
    and `until` (the zone's offsets in that span are worked out here: SQLite knows no time zones)."""
    offsets = _offsets(tz, since, until)
    if len(offsets) == 1:
        return _TimeText(value, fmt, offsets[0][1])
    whens = [
        (value < start, _TimeText(value, fmt, seconds))
        for (_, seconds), (start, _) in zip(offsets, offsets[1:], strict=False)
    ]
    return case(*whens, else_=_TimeText(value, fmt, offsets[-1][1]))


def elapsed(value: Any, now: datetime, step: timedelta, labels: Sequence[str], start: int = 0) -> ColumnElement[str]:
    """SQL: labels[n - start] where n = whole `step`s from the timestamp `value` to `now` (Python's
    `(now - value) // step`), for a query that keeps n between start and start + len(labels) - 1."""
    whens = [(value > now - (start + i + 1) * step, literal(label, String)) for i, label in enumerate(labels[:-1])]
    return case(*whens, else_=literal(labels[-1], String)) if whens else literal(labels[-1], String)


STALE_STAGES = (Stage.interviewing, Stage.decision_pending, Stage.offer)
STALE_MAX_PERIODS = 4  # after four reminders the application is left to My tasks; no endless nagging


@rule("stale_application", recipients=Cap.follow_up)
def stale_applications(scan: Scan, settings: Settings) -> Iterable[Found]:
    """An open application without a stage change for N days reminds the candidate's owner, once per N days."""
    now = scan.now
    days = settings.stale_application_days
    changed = col(Application.stage_changed_at)
    periods = [timedelta(days=days * n) for n in range(1, STALE_MAX_PERIODS + 1)]
    # Changed N to 5N days ago (the oldest instant excluded: times are kept to the microsecond), one range per
    # stage, so that each reads the (stage, stage_changed_at) index.
    within = (
        now - timedelta(days=days * (STALE_MAX_PERIODS + 1)) + timedelta(microseconds=1),
        now - timedelta(days=days),
    )
    # Read first and on their own (materialised): PostgreSQL without statistics otherwise started from the open
    # jobs and read each one's applications whole.
    apps = (
        select(Application.id, Application.candidate_id, Application.job_id, changed)
        .where(or_(*(scan.came(changed, periods, within, Application.stage == stage) for stage in STALE_STAGES)))
        .cte("changed")
        .prefix_with("MATERIALIZED")
    )
    at = apps.c.stage_changed_at
    query = (
        select(
            key("application:", apps.c.id).label("item_key"),  # type: ignore[call-overload]  # 7 columns
            key(
                utc_text(at, "%Y%m%d%H%M"),
                ":",
                elapsed(at, now, timedelta(days=days), [str(n) for n in range(1, STALE_MAX_PERIODS + 1)], start=1),
            ).label("window"),
            col(Candidate.owner_id).label("user_id"),
            at.label("changed"),
            col(Candidate.id).label("candidate_id"),
            Candidate.name,
            Job.title,
        )
        .select_from(apps)
        .join(Candidate, col(Candidate.id) == apps.c.candidate_id)
        .join(Job, col(Job.id) == apps.c.job_id)
        .where(col(Candidate.owner_id).is_not(None), col(Candidate.anonymised_at).is_(None), Job.status == "open")
    )

    def words(row: Row[Any]) -> Words:
        idle = (now - row.changed).days
        return Words(
            *ntexts("reminder.stale.title", idle, name=row.name, job=row.title, days=idle),
            *texts("reminder.stale.detail", since=row.changed, tz=settings.tz),
            link=candidate_link(settings, row.candidate_id),
        )

    yield Found("stale_application", query, words)


# --------------------------------------------------------------------------- the engine
def _new_rows(session: Session, found: Found) -> list[Row[Any]]:
    items = found.query.subquery("item")
    # One lookup of the unique (rule, item_key, window, user_id) per item: a scalar subquery, not NOT EXISTS,
    # which PostgreSQL without statistics made an anti-join probing by (rule, user_id) alone — every reminder
    # of that person for every item (3.3M index entries, 1.6 s a full pass at 100k).
    raised = select(Reminder.id).where(
        Reminder.rule == found.rule,
        Reminder.item_key == items.c.item_key,
        Reminder.window == items.c.window,
        Reminder.user_id == items.c.user_id,
    )
    query = select(items).where(raised.limit(1).scalar_subquery().is_(None))  # type: ignore[call-overload]
    return list(session.execute(query.limit(found.cap) if found.cap else query).all())


def _raise(session: Session, found: Found, now: datetime) -> tuple[list[tuple[ReminderItem, User]], bool]:
    """Insert the reminders `found` finds that were not raised yet; those this call inserted, with their person,
    and whether it found them all (False: it stopped at the cap, the rest come with the next full pass)."""
    rows = _new_rows(session, found)
    complete = found.cap is None or len(rows) < found.cap
    if not rows:
        return [], complete
    people = {p.id: p for p in session.exec(select(User).where(col(User.id).in_({r.user_id for r in rows})))}
    items: dict[tuple[str, str, int], tuple[ReminderItem, User]] = {}
    for row in rows:
        person = people.get(row.user_id)
        if person is None or not may_receive(person, found.rule):
            continue
        item = ReminderItem(
            rule=found.rule, item_key=row.item_key, window=row.window, user_id=row.user_id, **vars(found.words(row))
        )
        items[(item.item_key, item.window, item.user_id)] = (item, person)
    if not items:
        return [], complete
    vals = [
        {
            "rule": item.rule,
            "item_key": item.item_key,
            "window": item.window,
            "user_id": item.user_id,
            "created_at": now,
            "payload": json.dumps(vars(item), ensure_ascii=False),
            "mailed": person.reminder_mode != "digest",
            "digested_at": None,
        }
        for item, person in items.values()
    ]
    # RETURNING tells which rows this call inserted (another worker may have won some a moment ago); mail goes
    # out only for those. A digest reader's reminder waits unmailed for the digest.
    won = _insert_new(session, vals)
    return [items[(k, w, u)] for k, w, u in won], complete


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """INSERT the reminders … ON CONFLICT DO NOTHING RETURNING (item_key, window, user_id) of those inserted.
    PostgreSQL gets every column as one array (INSERT … SELECT FROM unnest): the multi-row VALUES SQLAlchemy
    writes otherwise is 9 parameters a row, and psycopg parsed those statements (100 kB a thousand rows) for a
    second of a first pass's five at 100k candidates."""
    table = Reminder.__table__  # type: ignore[attr-defined]
    names = ["rule", "item_key", "window", "user_id", "created_at", "payload", "mailed", "digested_at"]
    bind = session.get_bind()
    insert = upsert_insert(bind)
    params: list[dict[str, Any]] | None = rows
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        types: dict[str, TypeEngine[Any]]
        types = {
            "user_id": Integer(),
            "created_at": DateTime(timezone=True),
            "payload": Text(),
            "mailed": Boolean(),
            "digested_at": DateTime(timezone=True),
        }
        arrays = [
            bindparam(f"{name}_list", [r[name] for r in rows], type_=ARRAY(types.get(name, String()))) for name in names
        ]
        source = func.unnest(*arrays).table_valued(*names).render_derived(name="new_reminder")
        stmt, params = insert(table).from_select(names, select(*(source.c[name] for name in names))), None
    else:
        stmt = insert(table)
    stmt = stmt.on_conflict_do_nothing(index_elements=["rule", "item_key", "window", "user_id"]).returning(
        table.c.item_key, table.c.window, table.c.user_id
    )
    return [(k, w, u) for k, w, u in session.execute(stmt, params).all()]


def run_reminders(
    *, engine: Engine, now: datetime | None = None, settings: Settings | None = None, scans: Scans | None = None
) -> dict[str, int]:
    """Evaluate every rule once; new reminders are mailed at once or kept for the digest. Returns counts per rule.

    Without `scans` the pass is full; with a worker's `scans` it is incremental when that allows (`Scans.next`)."""
    if not RULES_COMPLETE:
        raise RuntimeError("import services.registry first: without it some screens' reminders would never fire")
    now = now or utcnow()
    settings = settings or get_settings()
    scan = scans.next(now) if scans is not None else Scan(now)
    counts: dict[str, int] = {}
    complete = True
    for name, fn in RULES.items():
        with session_scope(engine) as session:  # each rule's reminders and their mail: one transaction
            new = 0
            for found in fn(scan, settings):
                raised, whole = _raise(session, found, now)
                complete = complete and whole
                new += len(raised)
                queue_templates(
                    session=session,
                    template="reminder",
                    messages=[
                        {
                            "language": person.language,
                            "to": person.email,
                            "recipient_user_id": person.id,
                            "key": f"reminder:{item.rule}:{item.item_key}:{item.window}:{person.id}",
                            "context": {"recipient_name": person.name, "item": vars(item)},
                        }
                        for item, person in raised
                        if person.reminder_mode != "digest"
                    ],
                )
        counts[name] = new
    if scans is not None:
        scans.done(scan, complete=complete)
    return counts


def run_digests(*, engine: Engine, now: datetime | None = None, settings: Settings | None = None) -> int:
    """After the digest hour, queue one mail per digest reader with their unmailed reminders; once a day each."""
    now = now or utcnow()
    settings = settings or get_settings()
    local = now.astimezone(settings.tz)
    if local.hour < settings.digest_hour:
        return 0
    day = local.strftime("%Y-%m-%d")
    queued = 0
    with session_scope(engine) as session:
        readers = list(session.exec(select(User).where(User.reminder_mode == "digest", User.is_active)))
    for person in readers:
        try:
            # One reader's digest, its reminders marked and what was dropped: one transaction.
            with session_scope(engine) as session:
                queued += _queue_digest(
                    session, person, f"digest:{person.id}:{day}", fmt_date(local.date(), person.language), now
                )
        except IntegrityError:  # another worker queued the same digest a moment ago: all of this one undone
            pass
    return queued


def _queue_digest(session: Session, person: User, key: str, day: str, now: datetime) -> int:
    """Queue `person`'s digest of their unmailed reminders (in the caller's transaction); 1 if one was queued."""
    if session.exec(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)).first():
        return 0  # today's digest went out; what came later waits for tomorrow's
    pending = list(
        session.exec(
            select(Reminder)
            .where(Reminder.user_id == person.id, col(Reminder.mailed).is_(False), col(Reminder.digested_at).is_(None))
            .order_by(col(Reminder.created_at))
            .limit(200)
        )
    )
    fresh = session.get(User, person.id)
    # What was raised for a role the reader has lost since is dropped, not mailed.
    dropped = [r for r in pending if not may_receive(fresh, r.rule)]
    for r in dropped:
        r.digested_at = now
        session.add(r)
    pending = [r for r in pending if r not in dropped]
    if not pending:
        return 0
    items = [json.loads(r.payload) for r in pending]
    queue_template(
        session=session,
        template="digest",
        language=person.language,
        to=person.email,
        key=key,
        recipient_user_id=person.id,
        context={"recipient_name": person.name, "items": items, "day": day},
    )
    for r in pending:
        r.digested_at = now
        session.add(r)
    session.flush()
    return 1
