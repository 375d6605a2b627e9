"""Candidates and their applications: search, create, edit, stage moves, detail and export."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, bindparam, exists, func, null, or_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate, CandidateCreate, CandidateUpdate, StageChange, StageMove
from models.common import TRANSITIONS, Stage, phone_digits, tag_list, utcnow
from models.job import Job
from models.mail import OutboxMessage
from models.user import User
from services.pipeline.spreadsheet import SafeWriter
from services.platform import audit
from services.platform.db import savepoint
from services.platform.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ValidationError,
    validate,
)
from services.platform.policy import (
    Cap,
    can_move_stage,
    holds,
    job_scope,
    may_own_candidates,
    owns_what_they_add,
    require_cap,
    require_current_cap,
    visible_candidate,
)

COUNT_CAP = 1000
PAGE_SIZES = (25, 50, 100)


class DuplicateCandidate(DomainError):
    """A candidate with the same email or phone exists; `existing` lists them so the page can offer them."""

    key = "err.duplicate_candidate"

    def __init__(self, existing: list[Candidate]) -> None:
        super().__init__()
        self.existing = existing


@dataclass
class SearchResult:
    rows: list[dict[str, Any]]
    total: int
    capped: bool
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def filter_jobs(*, session: Session, actor: User) -> list[Job]:
    """The jobs the actor may filter candidates by: every job for recruiters and admins, a manager's own jobs."""
    actor = require_current_cap(session, actor, Cap.view_candidates)
    query = select(Job).order_by(col(Job.status).desc(), Job.title, col(Job.id))
    scope = job_scope(actor)
    if scope is not None:
        query = query.where(col(Job.id).in_(scope))
    return list(session.exec(query))


def _needle(q: str) -> str:
    """What a search looks for in the search text: lowercased, at most 100 characters; a phone number as its
    digits (China's country code dropped, as stored numbers drop it)."""
    q = (q or "").replace("\x00", "").strip().lower()[:100]  # no NUL: no database text holds one
    if re.fullmatch(r"[\d\s+()-]+", q) and len(phone_digits(q)) >= 3:
        q = phone_digits(re.sub(r"^(\+\s*86|0086)", "", q.replace(" ", "")))
    return q


def _like_pattern(needle: str) -> str:
    """`needle` anywhere in a text, as a LIKE pattern: its wildcards and the escape character taken as text."""
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _writes_values_in(session: Session) -> bool:
    """Whether a search writes the values its plan depends on into the statement (see `text_matches`)."""
    return session.get_bind().dialect.name == "postgresql"


SHORT_SEARCH = 2  # characters: shorter than a trigram


def text_matches(session: Session, q: str) -> list[Any]:
    """SQL conditions: the candidate's search text (name, email, phone, WeChat) holds the search `q`; none for an
    empty search. On PostgreSQL a search of one or two characters, not all ASCII — a Chinese surname, a
    two-character name — also asks the index of each text's characters (migration 0016) for the texts holding
    them all: the trigram index cannot serve fewer than three characters, and reading all 100k texts cost 33–41 ms
    (2 ms from that index). Not for short ASCII searches: most texts hold "a", and splitting each into characters
    costs more than the LIKE alone."""
    needle = _needle(q)
    if not needle:
        return []
    postgres = _writes_values_in(session)
    # On PostgreSQL the pattern is written into the statement, not bound: psycopg prepares a statement on the
    # server at its fifth run, and PostgreSQL then served every later search with one generic plan made without
    # the pattern — which read every candidate's text (a manager's '王' at 100k: 58 ms; 14 ms planned for it).
    # Written in, each search is its own statement. (Planning every statement for its values instead cost the
    # interview list and the board 10-13 ms more each.) SQLAlchemy escapes the literal.
    pattern: BindParameter[str] = bindparam("search_term", _like_pattern(needle), literal_execute=postgres)
    conds: list[Any] = [col(Candidate.search_text).like(pattern, escape="\\")]
    if postgres and len(needle) <= SHORT_SEARCH and not needle.isascii():
        chars = bindparam("search_chars", sorted(set(needle) - {" "}), type_=postgresql.ARRAY(Text))
        conds.append(func.string_to_array(Candidate.search_text, null()).op("@>")(chars))
    return conds


def _matching(
    session: Session,
    actor: User,
    *,
    q: str = "",
    job_id: int | None = None,
    stage: Stage | None = None,
    owner_id: int | None = None,
    source: str | None = None,
    tag: str | None = None,
    broad: bool = False,
) -> ColumnElement[bool]:
    """The SQL condition for the candidates `actor` may see that match a search and its filters.

    Visibility and the job/stage filters are one `candidate.id IN (the matching applications' candidate ids)`,
    not correlated EXISTS tests: without statistics SQLite ran those as a scan of every candidate times the
    applications in the stage (76 s at 100k); the IN list is read from the (stage, candidate_id) or
    (job_id, stage, candidate_id) index and each candidate fetched by its key. A hiring manager's list is the
    applications of their own jobs (which is also what their job/stage filters may reach); with a word or a tag,
    or `broad` (their jobs reach a large share of all candidates: `_reaches_many`), and no job/stage filter,
    tested per candidate read instead."""
    conds: list[ColumnElement[bool]] = [col(Candidate.anonymised_at).is_(None)]
    scope = job_scope(actor)
    words = text_matches(session, q)
    conds += words
    if owner_id:
        conds.append(col(Candidate.owner_id) == owner_id)
    if source:
        conds.append(col(Candidate.source) == source)
    if tag:
        # autoescape: a tag such as "c_sharp" must not match "cxsharp" through LIKE's wildcards.
        conds.append(col(Candidate.tags).contains("," + tag.strip().lower() + ",", autoescape=True))
    if scope is not None and not (job_id or stage) and (words or tag or broad):
        # A word or a tag: every candidate is read for the text test anyway (newest first, until the page and the
        # count are found), so the manager's scope is one lookup per candidate that matches — in the (candidate_id,
        # job_id) key — instead of collecting every candidate of their jobs first (59k for a manager of half the
        # jobs at 100k: 108 → 50 ms for 'emma' on SQLite, 49 → 41 ms on PostgreSQL). Likewise without them for a
        # manager whose jobs reach a large share of all candidates (`broad`): the newest candidates hold the page
        # and the count within a few thousand read.
        conds.append(exists().where(col(Application.candidate_id) == Candidate.id, col(Application.job_id).in_(scope)))
    elif job_id or stage or scope is not None:
        apps = select(Application.candidate_id)
        if scope is not None:
            apps = apps.where(col(Application.job_id).in_(scope))
        if job_id:
            apps = apps.where(Application.job_id == job_id)
        if stage:
            apps = apps.where(Application.stage == stage)
        conds.append(col(Candidate.id).in_(apps))
    return and_(*conds)


BROAD_SHARE = 10  # a manager whose jobs' applications number a tenth of all candidates or more: see _reaches_many


def _reaches_many(session: Session, actor: User) -> bool:
    """Whether the manager's jobs reach so many candidates that reading the newest candidates and testing each
    (one key lookup) finds a page sooner than gathering all of theirs: reading k candidates finds k × share of
    theirs, gathering reads share × all, so past about a tenth the reading wins (a manager of 59k of 100k
    candidates: their unfiltered list 58 → a few ms on SQLite). Two reads: the highest candidate id, then their
    applications counted only up to that tenth (counting all of them cost PostgreSQL 57 ms)."""
    scope = job_scope(actor)
    if scope is None:
        return False
    enough = (session.exec(select(func.max(Candidate.id))).one() or 0) // BROAD_SHARE
    if enough <= 0:
        return False
    theirs = select(Application.id).where(col(Application.job_id).in_(scope)).limit(enough).subquery()
    return session.exec(select(func.count()).select_from(theirs)).one() >= enough


def search_candidates(
    *,
    session: Session,
    actor: User,
    q: str = "",
    job_id: int | None = None,
    stage: Stage | None = None,
    owner_id: int | None = None,
    source: str | None = None,
    tag: str | None = None,
    page: int = 1,
    page_size: int = 25,
) -> SearchResult:
    """One page of candidates matching a name/email/phone/WeChat search and filters, newest first."""
    actor = require_current_cap(session, actor, Cap.view_candidates)
    page_size = page_size if page_size in PAGE_SIZES else PAGE_SIZES[0]
    page = max(1, int(page))
    broad = not (job_id or stage or _needle(q) or tag) and _reaches_many(session, actor)
    where = _matching(
        session, actor, q=q, job_id=job_id, stage=stage, owner_id=owner_id, source=source, tag=tag, broad=broad
    )
    ordered = select(Candidate.id).where(where).order_by(col(Candidate.id).desc())
    # One pass gives both the (capped) count and the page: the ids are small, and a rare search term
    # would otherwise scan the table twice (once to count, once for the page).
    # The cap written in on PostgreSQL, like a search's pattern (text_matches): a generic plan, made not knowing
    # it, walked the whole id index for a manager's search ('emma': 23 ms; 5 ms planned for 1,001 rows).
    cap: BindParameter[int] = bindparam("count_cap", COUNT_CAP + 1, literal_execute=_writes_values_in(session))
    head = list(session.exec(ordered.limit(cap)).all())
    start = (page - 1) * page_size
    if start < len(head) or len(head) <= COUNT_CAP:
        ids = head[start : start + page_size]
    else:
        ids = list(session.exec(ordered.offset(start).limit(page_size)).all())
    return SearchResult(
        rows=_summaries(session, ids, job_scope(actor)),
        total=min(len(head), COUNT_CAP),
        capped=len(head) > COUNT_CAP,
        page=page,
        page_size=page_size,
    )


def _summaries(session: Session, ids: list[int | None], job_scope: Any = None) -> list[dict[str, Any]]:
    """Table rows for the given candidates: contact, owner and their applications as 'job · stage'
    (only those of the jobs in `job_scope`, when given)."""
    if not ids:
        return []
    owner = select(User.name).where(User.id == Candidate.owner_id).scalar_subquery()
    cands = session.exec(select(Candidate, owner).where(col(Candidate.id).in_(ids))).all()
    app_query = (
        select(Application.candidate_id, Application.stage, Job.title)
        .join(Job, col(Job.id) == Application.job_id)
        .where(col(Application.candidate_id).in_(ids))
        .order_by(col(Application.stage_changed_at).desc())
    )
    if job_scope is not None:
        app_query = app_query.where(col(Application.job_id).in_(job_scope))
    apps = session.exec(app_query).all()
    by_candidate: dict[int, list[tuple[str, str]]] = {}
    for cid, stage, title in apps:
        by_candidate.setdefault(cid, []).append((title, stage))
    rows = {
        c.id: {
            "id": c.id,
            "name": c.name,
            "email": c.email or "",
            "phone": c.phone or "",
            "wechat_id": c.wechat_id or "",
            "language": c.language,
            "consent": c.consent,
            "source": c.source,
            "owner": owner_name or "",
            "tags": tag_list(c.tags),
            "applications": by_candidate.get(c.id or 0, []),
            "created_at": c.created_at,
        }
        for c, owner_name in cands
    }
    return [rows[i] for i in ids if i in rows]


def find_duplicates(
    *, session: Session, email: str | None, phone: str | None, exclude_id: int | None = None
) -> list[Candidate]:
    """Candidates sharing the email or the phone number (digits compared)."""
    conds: list[ColumnElement[bool]] = []
    if email:
        conds.append(col(Candidate.email) == email.strip().lower())
    digits = phone_digits(phone)
    if digits:
        conds.append(col(Candidate.phone_digits) == digits)
    if not conds:
        return []
    query = select(Candidate).where(or_(*conds), col(Candidate.anonymised_at).is_(None))
    if exclude_id:
        query = query.where(Candidate.id != exclude_id)
    return list(session.exec(query.limit(5)))


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is None:
        return
    owner = session.get(User, owner_id)
    if owner is None or not owner.is_active or not may_own_candidates(owner):
        raise ValidationError.single("owner_id", "err.not_a_recruiter")


def _open_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise ValidationError.single("job_id", "err.job_unknown")
    if job.status != "open":
        raise ValidationError.single("job_id", "err.job_not_open")
    return job


def load_application(session: Session, application_id: int) -> tuple[Application, Candidate, Job]:
    """An application with its candidate and job, for an action on it; NotFound when there is none or its candidate
    is anonymised — an erased person's application is not acted on (interviews, scorecards, decisions, follow-up,
    mail, the survey link), as their search, board and pool leave them out too. Who may act is the caller's
    question (services.platform.policy)."""
    row = session.exec(
        select(Application, Candidate, Job)
        .join(Candidate, col(Candidate.id) == Application.candidate_id)
        .join(Job, col(Job.id) == Application.job_id)
        .where(Application.id == application_id)
    ).first()
    if row is None or row[1].anonymised_at:
        raise NotFound()
    return row


def create_candidate(
    *,
    session: Session,
    actor: User,
    candidate_in: dict[str, Any],
    job_id: int | None = None,
    allow_duplicate: bool = False,
    consent_method: str = "form",
) -> Candidate:
    """Add a candidate (optionally applying to a job); DuplicateCandidate unless `allow_duplicate`. Talent-pool consent
    ticked is recorded as given, by `consent_method` (the form, or an import column)."""
    require_cap(actor, Cap.edit_candidates)
    data = validate(CandidateCreate, candidate_in)
    if data.owner_id is None and owns_what_they_add(actor):
        data.owner_id = actor.id
    _check_owner(session, data.owner_id)
    job = _open_job(session, job_id) if job_id else None
    if not allow_duplicate:
        dupes = find_duplicates(session=session, email=data.email, phone=data.phone)
        if dupes:
            raise DuplicateCandidate(dupes)
    candidate = Candidate.model_validate(data)
    if candidate.consent:
        candidate.consent_at = utcnow()
    candidate.refresh_search()
    session.add(candidate)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        entity="candidate",
        entity_id=candidate.id or 0,
        action="create",
        changes=data.model_dump(),
    )
    if data.consent:
        _consent_changed(session, actor, candidate, True, consent_method)
    if job:
        _add_application(session, actor, candidate, job)
    return candidate


def _consent_changed(session: Session, actor: User, candidate: Candidate, given: bool, method: str) -> None:
    """The talent-pool consent ticked or unticked: recorded by the privacy service (its history, the pool, mail)."""
    from models.privacy import ConsentIn, ConsentMethod, ConsentPurpose
    from services.privacy import consent  # privacy builds on candidates; imported here

    data = ConsentIn(
        candidate_id=candidate.id or 0,
        purpose=ConsentPurpose.talent_pool,
        given=given,
        method=ConsentMethod(method),
    )
    consent.apply_consent(session=session, actor=actor, data=data)


def update_candidate(
    *, session: Session, actor: User, candidate_id: int, candidate_in: dict[str, Any], allow_duplicate: bool = False
) -> Candidate:
    """Save an edit made from `version`; Conflict (with what was saved meanwhile) if someone else saved first."""
    require_cap(actor, Cap.edit_candidates)
    candidate = session.get(Candidate, candidate_id)
    if candidate is None or candidate.anonymised_at:
        raise NotFound()
    data = validate(CandidateUpdate, candidate_in)
    _check_owner(session, data.owner_id)
    if data.version != candidate.version:
        raise Conflict(current=candidate)
    changed_contact = data.email != candidate.email or phone_digits(data.phone) != candidate.phone_digits
    if changed_contact and not allow_duplicate:
        dupes = find_duplicates(session=session, email=data.email, phone=data.phone, exclude_id=candidate_id)
        if dupes:
            raise DuplicateCandidate(dupes)
    before = candidate.model_dump(warnings=False)  # enums come back from the database as plain text
    values = data.model_dump(exclude={"version"})
    probe = Candidate.model_validate(values)
    probe.refresh_search()
    values.update(search_text=probe.search_text, phone_digits=probe.phone_digits, updated_at=utcnow())
    consent_changed = data.consent != candidate.consent  # recorded below as given or withdrawn (services.privacy)
    # The version check is in the UPDATE itself, so two simultaneous saves cannot both win.
    result = session.exec(
        update(Candidate)
        .where(col(Candidate.id) == candidate_id, col(Candidate.version) == data.version)
        .values(**values, version=Candidate.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(current=session.get(Candidate, candidate_id, populate_existing=True))
    session.refresh(candidate)
    if consent_changed:
        _consent_changed(session, actor, candidate, data.consent, "form")
    if candidate.owner_id != before["owner_id"]:  # the owner kept on each application moves with it
        session.exec(
            update(Application).where(col(Application.candidate_id) == candidate_id).values(owner_id=candidate.owner_id)
        )
    changes = audit.diff(before, candidate.model_dump(warnings=False))
    for key in ("search_text", "phone_digits", "updated_at", "version"):
        changes.pop(key, None)
    audit.record(
        session=session, actor=actor, entity="candidate", entity_id=candidate_id, action="update", changes=changes
    )
    session.flush()
    return candidate


def _add_application(session: Session, actor: User, candidate: Candidate, job: Job) -> Application:
    existing = session.exec(
        select(Application).where(Application.candidate_id == candidate.id, Application.job_id == job.id)
    ).first()
    if existing:
        raise ValidationError.single("job_id", "err.already_applied")
    app = Application(
        candidate_id=candidate.id or 0, job_id=job.id or 0, created_by_id=actor.id, owner_id=candidate.owner_id
    )
    session.add(app)
    session.flush()
    session.add(
        StageChange(
            application_id=app.id or 0, from_stage=None, to_stage=Stage.interviewing, by_user_id=actor.id, reason=""
        )
    )
    audit.record(
        session=session,
        actor=actor,
        entity="application",
        entity_id=app.id or 0,
        action="create",
        changes={"candidate_id": candidate.id, "job_id": job.id},
    )
    return app


def add_application(*, session: Session, actor: User, candidate_id: int, job_id: int) -> Application:
    """Put a candidate forward for an open job; the application starts in `interviewing`."""
    require_cap(actor, Cap.edit_candidates)
    candidate = session.get(Candidate, candidate_id)
    if candidate is None or candidate.anonymised_at:
        raise NotFound()
    job = _open_job(session, job_id)
    try:
        with savepoint(session):
            app = _add_application(session, actor, candidate, job)
    except IntegrityError:
        # The same application added at the same instant (a double click, two tabs): the unique key kept one.
        raise ValidationError.single("job_id", "err.already_applied") from None
    return app


def move_stage(
    *,
    session: Session,
    actor: User,
    application_id: int,
    to_stage: Stage | str,
    reason: str = "",
    from_stage: Stage | str | None = None,
    pool: dict[str, Any] | None = None,
) -> Application:
    """Move an application to another stage, recording who, when and why; exits need a reason.

    Moving to the talent_pool stage keeps the candidate in the talent pool in the same transaction: `pool`
    gives its revisit date (`revisit_on`) and job family, its reason defaults to the move's (not needed when
    they are in the pool already). Moving out of it again ends their pool entry."""
    actor = require_current_cap(session, actor, Cap.move_stage)
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound()
    job = session.get(Job, app.job_id)
    if job is None or not can_move_stage(actor, job):
        raise NotAllowed()
    move = validate(StageMove, {"to_stage": to_stage, "reason": reason})
    current = Stage(app.stage)
    if from_stage is not None and Stage(from_stage) != current:
        raise Conflict("err.stage_changed", stage=current.value)
    if move.to_stage not in TRANSITIONS[current]:
        raise InvalidTransition(from_stage=current.value, to_stage=move.to_stage.value)
    if (
        move.to_stage in {Stage.rejected, Stage.withdrawn, Stage.talent_pool}
        and not move.reason
        and not (move.to_stage == Stage.talent_pool and pool and pool.get("reason"))
    ):
        raise ValidationError.single("reason", "err.reason_required")
    from services.follow_up import followup  # the pool is follow-up's; imported here, as follow-up builds on candidates

    entry_in = None
    if move.to_stage == Stage.talent_pool:
        entry = followup.pool_entry(session=session, actor=actor, candidate_id=app.candidate_id)
        if pool is not None or entry is None or entry.status != "active":
            entry_in = (
                {"reason": move.reason, "job_family": "", "revisit_on": None}
                | (pool or {})
                | {"candidate_id": app.candidate_id}
            )
            if not move.reason:
                move.reason = followup.validate_pool_entry(entry_in).reason
            followup.validate_pool_entry(entry_in)
    now = utcnow()
    result = session.exec(
        update(Application)
        .where(col(Application.id) == application_id, col(Application.stage) == current)
        .values(stage=move.to_stage, stage_changed_at=now)
    )
    if result.rowcount != 1:
        raise Conflict("err.stage_changed", stage=current.value)
    session.add(
        StageChange(
            application_id=application_id,
            from_stage=current,
            to_stage=move.to_stage,
            at=now,
            by_user_id=actor.id,
            reason=move.reason,
        )
    )
    audit.record(
        session=session,
        actor=actor,
        entity="application",
        entity_id=application_id,
        action="move_stage",
        changes={"stage": [current.value, move.to_stage.value], "reason": move.reason},
    )
    if entry_in is not None:
        followup.keep_in_pool(session=session, actor=actor, entry_in=entry_in)
    elif current == Stage.talent_pool:
        followup.leave_pool_on_reengagement(session=session, actor=actor, candidate_id=app.candidate_id)
    if current == Stage.hired and move.to_stage in {Stage.rejected, Stage.withdrawn}:
        from services.onboard import plans  # onboarding builds on the pipeline: imported here, as follow-up is

        plans.application_left(session=session, application=app, actor=actor)
    session.refresh(app)
    return app


@dataclass(frozen=True)
class ApplicationItem:
    application: Application
    job: str  # the job's title
    department: str
    next_stages: list[str]  # where it may move from its stage, sorted


@dataclass(frozen=True)
class StageStep:
    """One stage change of one application, for the candidate's timeline."""

    at: datetime
    job: str  # the application's job title
    application_id: int
    from_stage: str | None  # None: the application was created
    to_stage: str
    by: str  # who moved it; "" for the system
    reason: str


@dataclass(frozen=True)
class CandidateDetail:
    """What the candidate's detail view shows (`get_candidate_detail`)."""

    candidate: Candidate
    owner: str  # the owner's name, "" without one
    mail: list[OutboxMessage]  # newest first, at most 100
    applications: list[ApplicationItem]
    timeline: list[StageStep]  # oldest first
    audit: list[dict[str, Any]]  # newest first, as audit.list_audit gives them
    can_edit: bool


def get_candidate_detail(*, session: Session, actor: User, candidate_id: int) -> CandidateDetail:
    """A candidate with their applications, the stage timeline of each, the mail sent to them and the audit trail."""
    actor = require_current_cap(session, actor, Cap.view_candidates)
    visible = session.exec(select(Candidate).where(Candidate.id == candidate_id, visible_candidate(actor))).first()
    if visible is None or visible.anonymised_at:
        raise NotFound()
    owner = session.get(User, visible.owner_id) if visible.owner_id else None
    scope = job_scope(actor)
    app_query = (
        select(Application, Job.title, Job.department)
        .join(Job, col(Job.id) == Application.job_id)
        .where(Application.candidate_id == candidate_id)
        .order_by(col(Application.created_at))
    )
    if scope is not None:
        app_query = app_query.where(col(Application.job_id).in_(scope))
    apps = session.exec(app_query).all()
    app_ids = [a.id for a, _, _ in apps]
    titles = {a.id: title for a, title, _ in apps}
    history = (
        session.exec(
            select(StageChange, User.name)
            .join(User, col(User.id) == StageChange.by_user_id, isouter=True)
            .where(col(StageChange.application_id).in_(app_ids))
            .order_by(col(StageChange.at), col(StageChange.id))
        ).all()
        if app_ids
        else []
    )
    timeline = [
        StageStep(
            at=sc.at,
            job=titles.get(sc.application_id, ""),
            application_id=sc.application_id,
            from_stage=sc.from_stage,
            to_stage=sc.to_stage,
            by=name or "",
            reason=sc.reason,
        )
        for sc, name in history
    ]
    # The candidate's own record (edits, contacts, pool) is the recruiters'; a manager sees their applications'.
    trail = audit.list_audit(session=session, entity="candidate", entity_id=candidate_id) if scope is None else []
    trail += audit.list_audit(session=session, entity="application", entity_ids=[i for i in app_ids if i])
    trail.sort(key=lambda r: r["at"], reverse=True)
    mail_query = select(OutboxMessage).where(OutboxMessage.candidate_id == candidate_id)
    if scope is not None:  # mail about other jobs (and survey links in it) is not a manager's to read
        mail_query = mail_query.where(col(OutboxMessage.application_id).in_(app_ids or [-1]))
    mail = list(session.exec(mail_query.order_by(col(OutboxMessage.created_at).desc()).limit(100)))
    return CandidateDetail(
        candidate=visible,
        owner=owner.name if owner else "",
        mail=mail,
        applications=[
            ApplicationItem(
                application=a,
                job=title,
                department=dept,
                next_stages=sorted(s.value for s in TRANSITIONS[Stage(a.stage)]),
            )
            for a, title, dept in apps
        ],
        timeline=timeline,
        audit=trail,
        can_edit=holds(actor, Cap.edit_candidates),
    )


EXPORT_COLUMNS = [
    "id",
    "name",
    "email",
    "phone",
    "wechat_id",
    "source",
    "tags",
    "owner",
    "language",
    "consent",
    "applications",
    "created_at",
]


def export_candidates_csv(*, session: Session, actor: User, **filters: Any) -> Iterator[str]:
    """The candidates matching `filters` as CSV text, produced in chunks (UTF-8 with BOM for Excel)."""
    actor = require_current_cap(session, actor, Cap.edit_candidates)
    where = _matching(session, actor, **filters)
    yield "\ufeff"
    buf = io.StringIO()
    writer = SafeWriter(buf)
    writer.writerow(EXPORT_COLUMNS)
    last_id: int | None = None
    while True:
        # Keyset chunks (id below the last one written): each is one index range, however long the export.
        chunk = select(Candidate.id).where(where).order_by(col(Candidate.id).desc()).limit(500)
        if last_id is not None:
            chunk = chunk.where(col(Candidate.id) < last_id)
        ids = list(session.exec(chunk).all())
        if not ids:
            break
        for r in _summaries(session, ids):
            writer.writerow(
                [
                    r["id"],
                    r["name"],
                    r["email"],
                    r["phone"],
                    r["wechat_id"],
                    r["source"],
                    ",".join(r["tags"]),
                    r["owner"],
                    r["language"],
                    "yes" if r["consent"] else "no",
                    "; ".join(f"{t} ({s})" for t, s in r["applications"]),
                    r["created_at"].isoformat(),
                ]
            )
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
        last_id = ids[-1]
