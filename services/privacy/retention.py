"""Retention (issue 13, part 3): the rules an admin sets, each candidate's "keep until" date and the rule behind it,
"keep longer, because…", the list of who falls due within 30 days (admins' My tasks), "erase now", and the daily
worker job that anonymises everyone past their date — one person per transaction, so a run cut short leaves each
person fully anonymised or untouched and the next run finishes the rest.

The rules (AppSetting keys, months, whole numbers 1–120):
- not hired: `retention_not_hired_months` (12) after their last application closed (or after they were added,
  with no application);
- hired: handed over to HR at the end of probation, then kept here `retention_hired_months` (6) after it;
- talent pool: while talent-pool consent is in force, until the consent's end date; a consent without an end date
  counts `retention_pool_months` (24) from when it was given.
A person with an application still open has no date (nothing is decided yet). Of the rules that apply the latest
date wins, and a hold ("keep longer, because…", set by an admin with a reason) pushes it to the hold's date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import EXITS, Stage, add_months, clean_text, utcnow
from models.onboard import LIVE_OFFER, AppSetting, Offer, OnboardingPlan
from models.privacy import AccessAction, ConsentPurpose, ConsentRecord
from models.user import User
from services.mail.tasks import LIMIT, Task, before, provider
from services.mail.worker import job
from services.onboard.plans import OPEN_PLAN
from services.platform import audit
from services.platform.app_settings import save_setting
from services.platform.config import Settings, get_settings
from services.platform.errors import InvalidTransition, NotFound, ValidationError
from services.platform.i18n import fmt_date
from services.platform.policy import Cap, holds, require_current_cap
from services.privacy.access_log import record_access
from services.privacy.anonymise import anonymise_candidate

log = logging.getLogger("followup.retention")

RULES = {  # AppSetting key -> default months
    "retention_not_hired_months": 12,
    "retention_hired_months": 6,
    "retention_pool_months": 24,
}
MIN_MONTHS, MAX_MONTHS = 1, 120
DUE_AHEAD = timedelta(days=30)  # My tasks lists who falls due this soon
LAST_RUN = "retention_last_run"  # AppSetting: the company-time day the daily job last finished
RECOMPUTED = "retention_recomputed"  # AppSetting: the day everyone's keep-until date was last recomputed
HIRED = (Stage.hired, Stage.probation_passed)
CLOSED = (*EXITS, *HIRED)
REASON_MAX = 1000
MAX_PER_PASS = 50  # people anonymised per worker pass; the rest in the passes after


@dataclass(frozen=True)
class RetentionRules:
    not_hired_months: int
    hired_months: int
    pool_months: int


@dataclass(frozen=True)
class Facts:
    """What one person's date is computed from (one row of `_facts`)."""

    candidate_id: int
    created_at: datetime
    open_apps: int
    last_closed: datetime | None  # the latest exit (rejected, withdrawn, pool) of an application not hired
    last_hired: datetime | None  # the latest move to hired / probation passed
    probation_end: date | None  # the latest end of probation of their plans
    pool_given: bool | None  # the newest talent-pool consent: given (True), withdrawn (False), none (None)
    pool_at: datetime | None
    pool_until: date | None
    hold_until: datetime | None


@dataclass(frozen=True)
class Retention:
    """A candidate's retention as their page shows it."""

    candidate_id: int
    name: str
    keep_until: datetime | None
    rule: str  # open | not_hired | hired | pool | hold | anonymised
    hold_until: datetime | None
    hold_reason: str
    anonymised_at: datetime | None
    open_offer: bool  # a live offer would be lost on erasure
    running_plan: bool  # an onboarding plan still running would be lost


@dataclass(frozen=True)
class DueRow:
    candidate_id: int
    name: str
    keep_until: datetime
    rule: str


# --------------------------------------------------------------------------- rules
def last_day(at: datetime) -> date:
    """The last day data due at `at` is kept: the company-time day before that instant."""
    return (at.astimezone(get_settings().tz) - timedelta(microseconds=1)).date()


def _day_start(day: date) -> datetime:
    """The start of `day` in the company's time zone, in UTC."""
    return datetime.combine(day, time(0), tzinfo=get_settings().tz).astimezone(UTC)


def current_rules(session: Session) -> RetentionRules:
    """The rules in force (the defaults where an admin has set none)."""
    rows = {r.key: r.value for r in session.exec(select(AppSetting).where(col(AppSetting.key).in_(list(RULES))))}
    values = {}
    for key, default in RULES.items():
        try:
            value = int(rows.get(key, default))
        except ValueError:
            value = default
        values[key] = value if MIN_MONTHS <= value <= MAX_MONTHS else default
    return RetentionRules(
        values["retention_not_hired_months"], values["retention_hired_months"], values["retention_pool_months"]
    )


def retention_rules(*, session: Session, actor: User) -> RetentionRules:
    """The retention rules, for the admin's form."""
    require_current_cap(session, actor, Cap.manage_privacy)
    return current_rules(session)


def _months(field: str, value: object) -> int:
    text = str(value).strip() if value is not None else ""
    if not text.isdigit() or not MIN_MONTHS <= int(text) <= MAX_MONTHS:
        raise ValidationError.single(field, "err.retention_months", min=MIN_MONTHS, max=MAX_MONTHS)
    return int(text)


def save_rules(
    *, session: Session, actor: User, not_hired_months: object, hired_months: object, pool_months: object
) -> RetentionRules:
    """Set the retention rules (whole months, 1–120 each); audited. Everyone's date follows at the next daily run."""
    current = require_current_cap(session, actor, Cap.manage_privacy)
    wanted: dict[str, int] = {}
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, field, value in (
        ("retention_not_hired_months", "not_hired_months", not_hired_months),
        ("retention_hired_months", "hired_months", hired_months),
        ("retention_pool_months", "pool_months", pool_months),
    ):
        try:
            wanted[key] = _months(field, value)
        except ValidationError as exc:
            errors |= exc.fields
    if errors:
        raise ValidationError(errors)
    before_rules = current_rules(session)
    for key, value in wanted.items():
        save_setting(session, key, str(value), by_id=current.id)
    audit.record(
        session=session,
        actor=current,
        entity="setting",
        entity_id=0,
        action="retention_rules",
        changes={
            "not_hired_months": [before_rules.not_hired_months, wanted["retention_not_hired_months"]],
            "hired_months": [before_rules.hired_months, wanted["retention_hired_months"]],
            "pool_months": [before_rules.pool_months, wanted["retention_pool_months"]],
        },
    )
    session.flush()
    return current_rules(session)


# --------------------------------------------------------------------------- each person's date
def _facts(session: Session, candidate_ids: list[int] | None = None) -> list[Facts]:
    """The facts of every candidate not anonymised (or of `candidate_ids`), read set-wise: one grouped query per
    kind of fact, not a lookup per person."""
    app = Application

    def only(column: Any) -> list[Any]:  # one person's (or a few people's) rows, not every candidate's grouped
        return [col(column).in_(candidate_ids)] if candidate_ids is not None else []

    apps = (
        select(
            col(app.candidate_id),
            func.sum(case((col(app.stage).not_in([s.value for s in CLOSED]), 1), else_=0)).label("open"),
            func.max(case((col(app.stage).in_([s.value for s in EXITS]), col(app.stage_changed_at)))).label("closed"),
            func.max(case((col(app.stage).in_([s.value for s in HIRED]), col(app.stage_changed_at)))).label("hired"),
        )
        .where(*only(app.candidate_id))
        .group_by(col(app.candidate_id))
        .subquery()
    )
    probation = (
        select(col(app.candidate_id), func.max(OnboardingPlan.probation_end).label("end"))
        .join(OnboardingPlan, col(OnboardingPlan.application_id) == app.id)
        .where(*only(app.candidate_id))
        .group_by(col(app.candidate_id))
        .subquery()
    )
    newest = (
        select(  # type: ignore[call-overload]  # sqlmodel: 4 columns at most
            col(ConsentRecord.candidate_id),
            ConsentRecord.given,
            ConsentRecord.at,
            ConsentRecord.until,
            func.row_number()
            .over(
                partition_by=col(ConsentRecord.candidate_id),
                order_by=(col(ConsentRecord.at).desc(), col(ConsentRecord.id).desc()),
            )
            .label("n"),
        )
        .where(ConsentRecord.purpose == ConsentPurpose.talent_pool.value, *only(ConsentRecord.candidate_id))
        .subquery()
    )
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel: 4 columns at most
            Candidate.id,
            Candidate.created_at,
            apps.c.open,
            apps.c.closed,
            apps.c.hired,
            probation.c.end,
            newest.c.given,
            newest.c.at,
            newest.c.until,
            Candidate.hold_until,
        )
        .outerjoin(apps, apps.c.candidate_id == Candidate.id)
        .outerjoin(probation, probation.c.candidate_id == Candidate.id)
        .outerjoin(newest, (newest.c.candidate_id == Candidate.id) & (newest.c.n == 1))
        .where(col(Candidate.anonymised_at).is_(None))
    )
    if candidate_ids is not None:
        query = query.where(col(Candidate.id).in_(candidate_ids))
    return [
        Facts(
            candidate_id=r[0],
            created_at=_aware(r[1]),
            open_apps=int(r[2] or 0),
            last_closed=_aware(r[3]),
            last_hired=_aware(r[4]),
            probation_end=date.fromisoformat(r[5]) if isinstance(r[5], str) else r[5],
            pool_given=None if r[6] is None else bool(r[6]),
            pool_at=_aware(r[7]),
            pool_until=date.fromisoformat(r[8]) if isinstance(r[8], str) else r[8],
            hold_until=_aware(r[9]),
        )
        for r in session.exec(query.order_by(col(Candidate.id))).all()
    ]


def _aware(value: Any) -> Any:
    """A datetime read back from an aggregate (SQLite gives text or naive values there) as aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def keep_until_of(facts: Facts, rules: RetentionRules) -> tuple[datetime | None, str]:
    """The day a person's data is due to be anonymised, and the rule that set it."""
    if facts.open_apps:
        return None, "open"
    dated: list[tuple[datetime, str]] = []
    if facts.last_closed is not None or facts.last_hired is None:
        dated.append((add_months(facts.last_closed or facts.created_at, rules.not_hired_months), "not_hired"))
    if facts.last_hired is not None:
        end = _day_start(facts.probation_end) if facts.probation_end else facts.last_hired
        dated.append((add_months(end, rules.hired_months), "hired"))
    if facts.pool_given:
        if facts.pool_until is not None:
            dated.append((_day_start(facts.pool_until + timedelta(days=1)), "pool"))
        elif facts.pool_at is not None:
            dated.append((add_months(facts.pool_at, rules.pool_months), "pool"))
    keep, rule = max(dated, key=lambda d: d[0])
    if facts.hold_until is not None and facts.hold_until > keep:
        keep, rule = facts.hold_until, "hold"
    return keep, rule


def recompute_keep_until(session: Session, candidate_ids: list[int] | None = None) -> int:
    """Store everyone's (or `candidate_ids`') keep-until date; returns how many changed (flush, no commit)."""
    rules = current_rules(session)
    stored = dict(
        session.exec(
            select(Candidate.id, Candidate.keep_until).where(
                col(Candidate.anonymised_at).is_(None),
                *([col(Candidate.id).in_(candidate_ids)] if candidate_ids is not None else []),
            )
        ).all()
    )
    changes = []
    for facts in _facts(session, candidate_ids):
        keep, _ = keep_until_of(facts, rules)
        if _aware(stored.get(facts.candidate_id)) != keep:
            changes.append({"cid": facts.candidate_id, "keep": keep})
    if changes:  # one statement, executed for the batch of changed rows
        table = Candidate.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table).where(table.c.id == bindparam("cid")).values(keep_until=bindparam("keep")), changes
        )
    session.flush()
    return len(changes)


def _live_offer(session: Session, candidate_id: int) -> bool:
    return (
        session.exec(
            select(Offer.id)
            .join(Application, col(Application.id) == Offer.application_id)
            .where(Application.candidate_id == candidate_id, col(Offer.status).in_(list(LIVE_OFFER)))
        ).first()
        is not None
    )


def _running_plan(session: Session, candidate_id: int) -> bool:
    return (
        session.exec(
            select(OnboardingPlan.id)
            .join(Application, col(Application.id) == OnboardingPlan.application_id)
            .where(Application.candidate_id == candidate_id, col(OnboardingPlan.status).in_(list(OPEN_PLAN)))
        ).first()
        is not None
    )


def candidate_retention(*, session: Session, actor: User, candidate_id: int) -> Retention:
    """A candidate's keep-until date as of now and why, their hold, and what erasing them now would lose."""
    require_current_cap(session, actor, Cap.manage_privacy)
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound()
    if candidate.anonymised_at is not None:
        keep, rule = None, "anonymised"
    else:
        found = _facts(session, [candidate_id])
        keep, rule = keep_until_of(found[0], current_rules(session)) if found else (None, "open")
    return Retention(
        candidate_id=candidate_id,
        name=candidate.name,
        keep_until=keep,
        rule=rule,
        hold_until=candidate.hold_until,
        hold_reason=candidate.hold_reason,
        anonymised_at=candidate.anonymised_at,
        open_offer=_live_offer(session, candidate_id),
        running_plan=_running_plan(session, candidate_id),
    )


def _reason(value: object) -> str:
    text = clean_text(value) if isinstance(value, str) else ""
    if not text:
        raise ValidationError.single("reason", "err.reason_required")
    if len(text) > REASON_MAX:
        raise ValidationError.single("reason", "err.too_long", max=REASON_MAX)
    return text


def _live_candidate(session: Session, candidate_id: int) -> Candidate:
    candidate = session.get(Candidate, candidate_id, with_for_update=True, populate_existing=True)
    if candidate is None:
        raise NotFound()
    if candidate.anonymised_at is not None:
        raise InvalidTransition("err.already_anonymised")
    return candidate


def set_hold(*, session: Session, actor: User, candidate_id: int, until: date | None, reason: object) -> Candidate:
    """Keep a candidate's data longer, until a later day, because of `reason` (required); audited. The keep-until
    date follows at once."""
    current = require_current_cap(session, actor, Cap.manage_privacy)
    errors: dict[str, tuple[str, dict[str, Any]]] = {}
    try:
        text = _reason(reason)
    except ValidationError as exc:
        errors |= exc.fields
    if isinstance(until, datetime):
        until = until.date()
    if not isinstance(until, date):
        errors["until"] = ("err.required", {})
    elif until <= utcnow().astimezone(get_settings().tz).date():
        errors["until"] = ("err.hold_in_past", {})
    if errors:
        raise ValidationError(errors)
    assert isinstance(until, date)
    candidate = _live_candidate(session, candidate_id)
    before_hold = candidate.hold_until
    new_hold = _day_start(until + timedelta(days=1))
    if before_hold is not None and _aware(before_hold) == new_hold and candidate.hold_reason == text:
        return candidate  # a double submit, or the same hold from a second tab: nothing changes, nothing to audit
    candidate.hold_until, candidate.hold_reason = new_hold, text
    session.add(candidate)
    audit.record(
        session=session,
        actor=current,
        entity="candidate",
        entity_id=candidate_id,
        action="retention_hold",
        changes={"hold_until": [before_hold, until], "hold_reason": text},
    )
    session.flush()
    recompute_keep_until(session, [candidate_id])
    return candidate


def clear_hold(*, session: Session, actor: User, candidate_id: int) -> Candidate:
    """End a hold: the rules alone set the date again; audited."""
    current = require_current_cap(session, actor, Cap.manage_privacy)
    candidate = _live_candidate(session, candidate_id)
    if candidate.hold_until is None:
        return candidate  # a double submit
    candidate.hold_until, candidate.hold_reason = None, ""
    session.add(candidate)
    audit.record(session=session, actor=current, entity="candidate", entity_id=candidate_id, action="retention_unhold")
    session.flush()
    recompute_keep_until(session, [candidate_id])
    return candidate


def erase_now(*, session: Session, actor: User, candidate_id: int, reason: object, confirmed: bool = False) -> None:
    """Anonymise a candidate now, with a reason (an erasure request, say). With a live offer or a running onboarding
    plan it is refused until `confirmed` (what would be lost is shown first)."""
    current = require_current_cap(session, actor, Cap.manage_privacy)
    text = _reason(reason)
    _live_candidate(session, candidate_id)
    if not confirmed and (_live_offer(session, candidate_id) or _running_plan(session, candidate_id)):
        raise InvalidTransition("err.erase_needs_confirmation")
    anonymise_candidate(session=session, candidate_id=candidate_id, reason=text, actor=current)
    # Who erased whom, and when, stays in the records of access (the person is only "Anonymised #N" there now).
    record_access(session=session, actor=current, candidate_id=candidate_id, action=AccessAction.erase)


# --------------------------------------------------------------------------- the due list
def _due_query(until: datetime) -> Any:
    return (
        select(Candidate.id, Candidate.name, Candidate.keep_until, Candidate.hold_until)
        .where(col(Candidate.keep_until).is_not(None), col(Candidate.keep_until) <= until)
        .where(col(Candidate.anonymised_at).is_(None))
        .order_by(col(Candidate.keep_until), col(Candidate.id))
    )


def due_soon(*, session: Session, actor: User, now: datetime | None = None) -> list[DueRow]:
    """Who falls due for anonymisation within 30 days (or is past due), soonest first."""
    require_current_cap(session, actor, Cap.manage_privacy)
    rows = session.exec(_due_query((now or utcnow()) + DUE_AHEAD).limit(500)).all()
    rules = current_rules(session)
    why = {f.candidate_id: keep_until_of(f, rules)[1] for f in _facts(session, [int(r[0] or 0) for r in rows])}
    return [DueRow(int(cid or 0), name, _aware(keep), why.get(int(cid or 0), "open")) for cid, name, keep, _ in rows]


@provider
def retention_tasks(session: Session, user: User, now: datetime, due_by: datetime | None = None) -> list[Task]:
    """For admins: each candidate whose data falls due for anonymisation within 30 days, linked to their page."""
    if not holds(user, Cap.manage_privacy):
        return []
    rows = session.exec(_due_query(before(now + DUE_AHEAD, due_by)).limit(LIMIT)).all()
    return [
        Task(
            kind="retention_due",
            params={"name": name, "date": fmt_date(last_day(_aware(keep)), user.language)},
            due_at=_aware(keep),
            page="pages/candidates.py",
            query={"id": str(cid)},
        )
        for cid, name, keep, _ in rows
    ]


# --------------------------------------------------------------------------- the daily job
def anonymise_if_due(*, session: Session, candidate_id: int, now: datetime) -> bool:
    """Anonymise one person if their date, computed afresh in this transaction, has passed (no commit)."""
    found = _facts(session, [candidate_id])
    if not found:
        return False
    keep, rule = keep_until_of(found[0], current_rules(session))
    if keep is None or keep > now:
        return False
    anonymise_candidate(session=session, candidate_id=candidate_id, reason=f"retention:{rule}", actor=None)
    return True


def run_retention(*, engine: Engine, now: datetime | None = None) -> int:
    """Recompute everyone's date, then anonymise each person past it (at most MAX_PER_PASS), one transaction per
    person; returns how many were anonymised. A person who fails is left untouched and tried again by the next run;
    the day's run counts as done only when nobody is left."""
    from services.platform.db import session_scope

    now = now or utcnow()
    day = now.astimezone(get_settings().tz).date().isoformat()
    with session_scope(engine) as session:
        # Everyone's date once a day (a backlog's later passes of the day find them stored).
        marker = session.get(AppSetting, RECOMPUTED) or AppSetting(key=RECOMPUTED)
        if marker.value != day:
            recompute_keep_until(session)
            save_setting(session, RECOMPUTED, day, at=now, row=marker)
    with session_scope(engine) as session:
        due = [
            int(cid or 0)
            for cid in session.exec(
                select(Candidate.id)
                .where(
                    col(Candidate.anonymised_at).is_(None),
                    col(Candidate.keep_until).is_not(None),
                    col(Candidate.keep_until) <= now,
                )
                .order_by(col(Candidate.keep_until), col(Candidate.id))
                .limit(MAX_PER_PASS + 1)
            )
        ]
    # A backlog (the first run, rules made shorter) is worked off a batch per worker pass: the mail must not wait.
    failed = int(len(due) > MAX_PER_PASS)
    due = due[:MAX_PER_PASS]
    done = 0
    for candidate_id in due:
        try:
            with session_scope(engine) as session:
                done += anonymise_if_due(session=session, candidate_id=candidate_id, now=now)
        except Exception:  # one person's trouble must not keep the others on file past their date
            log.exception("retention: candidate %s not anonymised; tried again next run", candidate_id)
            failed += 1
    if engine.dialect.name == "sqlite":
        # SQLite's write-ahead log still holds the pages as they were before; copy it into the database and empty it.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    if not failed:
        with session_scope(engine) as session:
            save_setting(session, LAST_RUN, day, at=now)
    return done


@job("retention")
def daily_retention(*, engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """The worker's job: once a day (company time), `run_retention`; a run that did not finish runs again."""
    now = now or utcnow()
    with Session(engine) as session:
        last = session.get(AppSetting, LAST_RUN)
        if last is not None and last.value == now.astimezone(settings.tz).date().isoformat():
            return 0
    return run_retention(engine=engine, now=now)
