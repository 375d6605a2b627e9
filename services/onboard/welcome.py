"""The new hire's private page: its link, the welcome mail that carries it, and what the page shows and takes.

The link is a random token of which only a keyed hash is kept (`OnboardingPlan.link_token_hash`). It works while
the plan is open (active or extended) and until the end of probation; revoking clears the hash, re-issuing
replaces it, so an old link stops working at once. The page (pages/welcome.py) calls the token functions here,
which take no actor: the token is the only key, and everything they show or touch is the token's plan's own.

The welcome mail goes out a template's `welcome_days_before` days before the start date, by the worker
(`welcome_mails`), unless HR has prepared one already (then it waits, as a draft, for them to send); it is sent
once per plan (`OnboardingPlan.welcome_mail_id`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from models.candidate import Application, Candidate
from models.common import utcnow
from models.mail import MailStatus, OutboxMessage
from models.onboard import (
    ChecklistItem,
    Material,
    Offer,
    OnboardingPlan,
    OnboardTemplate,
    PlanStatus,
    PlanTask,
    TemplateTask,
)
from models.user import User
from services.mail.outbox import queue_template
from services.mail.worker import job
from services.onboard.materials import FileData, read_material, store_material
from services.onboard.plan_access import PlanInScope, plan_in_scope
from services.onboard.training import scheduled_sessions
from services.platform import audit
from services.platform.config import Settings, get_settings
from services.platform.db import session_scope
from services.platform.errors import DomainError, InvalidTransition, NotFound, ValidationError
from services.platform.i18n import fmt_date
from services.platform.policy import Cap

log = logging.getLogger("followup.welcome")
TEMPLATE = "welcome"
OPEN_PLAN = (PlanStatus.active, PlanStatus.extended)
MAX_UPLOADS = 30  # files one new hire may upload through their link
DEFAULT_WELCOME_DAYS = 3


class WelcomeLinkInvalid(DomainError):
    """Unknown, revoked or expired: the page says only that the link no longer works."""

    key = "welcome.link_invalid"


def _token_hash(token: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), f"welcome:{token}".encode(), hashlib.sha256).hexdigest()


def welcome_url(token: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/?welcome={token}"


def _today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(get_settings().tz).date()


def _link_live(plan: OnboardingPlan, today: date) -> bool:
    return (
        plan.link_token_hash is not None
        and plan.link_revoked_at is None
        and plan.status in OPEN_PLAN
        and today <= plan.probation_end
    )


def _open_plan(plan: OnboardingPlan) -> None:
    if plan.status not in OPEN_PLAN:
        raise InvalidTransition("err.plan_closed", status=plan.status)


# --------------------------------------------------------------------------- the link, as HR sees it
@dataclass(frozen=True)
class LinkStatus:
    """Where a plan's private link and welcome mail stand."""

    live: bool
    issued_at: datetime | None
    revoked_at: datetime | None
    valid_until: date  # the end of probation
    welcome_due: date  # when the worker sends the welcome mail
    mail_id: int | None
    mail_status: str | None  # the welcome mail's outbox status, None before there is one
    ended: bool = False  # the plan closed (an outcome, cancelled) or probation over: no link works or is issued
    plan_status: str = PlanStatus.active.value
    # The day the worker queues the welcome mail by itself (today once `welcome_due` has passed); None when it
    # never will: the start date is behind, the plan is not active, or a mail exists already.
    welcome_auto: date | None = None


def _welcome_days(session: Session, plan: OnboardingPlan) -> int:
    template = session.get(OnboardTemplate, plan.template_id) if plan.template_id else None
    if template is None:
        template = session.exec(select(OnboardTemplate).where(OnboardTemplate.department == "")).first()
    return template.welcome_days_before if template is not None else DEFAULT_WELCOME_DAYS


def link_status(*, session: Session, actor: User, plan_id: int) -> LinkStatus:
    """Whether the plan's link works, since when, until when, and the welcome mail's state."""
    plan = plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.onboard).plan
    mail = session.get(OutboxMessage, plan.welcome_mail_id) if plan.welcome_mail_id else None
    today = _today()
    due = plan.start_date - timedelta(days=_welcome_days(session, plan))
    # As send_due_welcome decides: only an active plan without a mail, up to its start date.
    auto = max(due, today) if mail is None and plan.status == PlanStatus.active and today <= plan.start_date else None
    return LinkStatus(
        live=_link_live(plan, today),
        issued_at=plan.link_issued_at,
        revoked_at=plan.link_revoked_at,
        valid_until=plan.probation_end,
        welcome_due=due,
        mail_id=mail.id if mail else None,
        mail_status=mail.status if mail else None,
        ended=_ended(plan, today),
        plan_status=plan.status,
        welcome_auto=auto,
    )


def _ended(plan: OnboardingPlan, today: date) -> bool:
    return plan.status not in OPEN_PLAN or today > plan.probation_end


def _new_token(session: Session, plan: OnboardingPlan, actor: User | None, action: str) -> str:
    token = secrets.token_urlsafe(32)
    plan.link_token_hash = _token_hash(token)
    plan.link_issued_at = utcnow()
    plan.link_revoked_at = None
    plan.version += 1
    session.add(plan)
    session.flush()
    audit.record(session=session, actor=actor, entity="onboardingplan", entity_id=plan.id or 0, action=action)
    return token


def _writable(session: Session, actor: User, plan_id: int) -> PlanInScope:
    scope = plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.edit_plans, lock=True)
    _open_plan(scope.plan)
    if _today() > scope.plan.probation_end:  # a link issued now would not work for a single day
        raise InvalidTransition("err.welcome_link_ended")
    return scope


def issue_link(*, session: Session, actor: User, plan_id: int) -> str:
    """Give the plan a private link and return its address — shown once, never kept (no commit). A plan whose link
    still works is refused: re-issue it instead (the old one then stops working)."""
    scope = _writable(session, actor, plan_id)
    if _link_live(scope.plan, _today()):
        raise InvalidTransition("err.welcome_link_live")
    return welcome_url(_new_token(session, scope.plan, scope.actor, "welcome_link_issue"))


def reissue_link(*, session: Session, actor: User, plan_id: int) -> str:
    """Replace the plan's private link with a new one and return its address (no commit); the old one stops
    working."""
    scope = _writable(session, actor, plan_id)
    return welcome_url(_new_token(session, scope.plan, scope.actor, "welcome_link_reissue"))


def revoke_link(*, session: Session, actor: User, plan_id: int) -> OnboardingPlan:
    """Stop the plan's private link from working (no commit); revoking again changes nothing."""
    scope = plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.edit_plans, lock=True)
    plan = scope.plan
    if plan.link_token_hash is None:
        return plan
    plan.link_token_hash = None
    plan.link_revoked_at = utcnow()
    plan.version += 1
    session.add(plan)
    session.flush()
    audit.record(
        session=session,
        actor=scope.actor,
        entity="onboardingplan",
        entity_id=plan.id or 0,
        action="welcome_link_revoke",
    )
    return plan


# --------------------------------------------------------------------------- the welcome mail
def _contacts(session: Session, plan: OnboardingPlan) -> list[tuple[str, str]]:
    """Whom the new hire asks for, (role, name): the buddy, then the hiring manager."""
    out = []
    for role, user_id in (("buddy", plan.buddy_id), ("hiring_manager", plan.hiring_manager_id)):
        person = session.get(User, user_id) if user_id else None
        if person is not None and person.is_active:
            out.append((role, person.name))
    return out


def _mail_context(session: Session, plan: OnboardingPlan, candidate: Candidate, link: str) -> dict[str, Any]:
    language = _language(candidate)
    offer = session.get(Offer, plan.offer_id)
    contacts = _contacts(session, plan)
    return {
        "candidate_name": candidate.name,
        "job_title": offer.job_title if offer else "",
        "start_date": fmt_date(plan.start_date, language),
        "location": offer.location if offer else "",
        "contact_name": contacts[0][1] if contacts else "",
        "welcome_link": link,
        "valid_until": fmt_date(plan.probation_end, language),
    }


def _language(candidate: Candidate) -> str:
    return candidate.language if candidate.language in ("zh", "en") else "zh"


def _queue_welcome(
    session: Session, plan: OnboardingPlan, candidate: Candidate, actor: User | None, *, draft: bool
) -> OutboxMessage:
    if not candidate.email:
        raise ValidationError.single("to", "err.candidate_no_email")
    token = _new_token(session, plan, actor, "welcome_link_reissue" if plan.link_token_hash else "welcome_link_issue")
    mail = queue_template(
        session=session,
        template=TEMPLATE,
        language=_language(candidate),
        to=candidate.email,
        key=f"welcome:{plan.id}:{'draft:' + uuid.uuid4().hex if draft else 'auto'}",
        context=_mail_context(session, plan, candidate, welcome_url(token)),
        draft=draft,
        candidate_id=candidate.id,
        application_id=plan.application_id,
        created_by=actor,
    )
    plan.welcome_mail_id = mail.id
    session.add(plan)
    session.flush()
    return mail


def welcome_drafts(*, session: Session, actor: User, plan_id: int) -> list[OutboxMessage]:
    """The plan's welcome mail prepared and not yet sent or discarded."""
    plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.edit_plans)
    return list(
        session.exec(
            select(OutboxMessage)
            .where(
                OutboxMessage.template == TEMPLATE,
                OutboxMessage.status == MailStatus.draft,
                col(OutboxMessage.idempotency_key).startswith(f"welcome:{plan_id}:"),
            )
            .order_by(col(OutboxMessage.id))
        )
    )


def prepare_welcome_mail(*, session: Session, actor: User, plan_id: int, replace_link: bool = False) -> OutboxMessage:
    """The welcome mail as a draft in the new hire's language, for HR to preview, edit and send (no commit); an
    unsent draft is returned instead of a second. It carries a new private link: only a hash of the old one is
    kept, so it cannot be reused — while one works, the mail is refused unless `replace_link` says that the old
    link (perhaps shown or sent already) may stop working."""
    existing = welcome_drafts(session=session, actor=actor, plan_id=plan_id)
    if existing:
        return existing[0]
    scope = _writable(session, actor, plan_id)
    if _link_live(scope.plan, _today()) and not replace_link:
        raise ValidationError.single("replace_link", "err.welcome_replaces_link")
    return _queue_welcome(session, scope.plan, scope.candidate, scope.actor, draft=True)


def _due_plans(session: Session, today: date) -> list[int]:
    """Open plans without a welcome mail whose start date has not passed (few: the next weeks' new hires)."""
    ids = session.exec(
        select(OnboardingPlan.id)
        .where(
            OnboardingPlan.status == PlanStatus.active,
            col(OnboardingPlan.welcome_mail_id).is_(None),
            col(OnboardingPlan.start_date) >= today,
        )
        .order_by(col(OnboardingPlan.start_date))
        .limit(500)
    )
    return [i for i in ids if i is not None]


def send_due_welcome(*, session: Session, plan_id: int, today: date) -> OutboxMessage | None:
    """Queue one plan's welcome mail if it is due and not yet made (no commit); None when there is nothing to do."""
    plan = session.get(OnboardingPlan, plan_id, with_for_update=True, populate_existing=True)
    if plan is None or plan.welcome_mail_id is not None or plan.status != PlanStatus.active:
        return None
    if not plan.start_date - timedelta(days=_welcome_days(session, plan)) <= today <= plan.start_date:
        return None
    application = session.get(Application, plan.application_id)
    candidate = session.get(Candidate, application.candidate_id) if application else None
    if candidate is None or not candidate.email or candidate.anonymised_at is not None:
        return None
    return _queue_welcome(session, plan, candidate, None, draft=False)


@job("welcome_mails")
def welcome_mails(*, engine: Engine, settings: Settings) -> int:
    """The worker's job: queue the welcome mail of every plan whose day has come, each in its own transaction."""
    today = utcnow().astimezone(settings.tz).date()
    with session_scope(engine) as session:
        due = _due_plans(session, today)
    sent = 0
    for plan_id in due:
        try:
            with session_scope(engine) as session:
                sent += send_due_welcome(session=session, plan_id=plan_id, today=today) is not None
        except Exception:  # one plan's trouble (a race lost, a bad row) must not hold the others back
            log.exception("welcome mail of plan %s failed", plan_id)
    return sent


# --------------------------------------------------------------------------- the new hire's page (by the token)
@dataclass(frozen=True)
class PageItem:
    id: int
    label: str
    done: bool


@dataclass(frozen=True)
class PageSession:
    title: str
    starts_at: datetime
    ends_at: datetime
    location: str
    meeting_link: str


@dataclass(frozen=True)
class PageMaterial:
    id: int
    title: str
    filename: str


@dataclass(frozen=True)
class PageLink:
    title: str
    url: str


@dataclass(frozen=True)
class PageUpload:
    id: int
    filename: str
    size: int
    uploaded_at: datetime


@dataclass(frozen=True)
class WelcomePage:
    """Everything the new hire's page shows: their own plan, nothing of anybody else's."""

    language: str
    name: str
    job_title: str
    start_date: date
    location: str
    contacts: list[tuple[str, str]]  # (role, name): whom to ask for
    valid_until: date
    sessions: list[PageSession]
    materials: list[PageMaterial]
    links: list[PageLink]
    checklist: list[PageItem]
    uploads: list[PageUpload]


def _plan_of(session: Session, token: str, *, lock: bool = False, now: datetime | None = None) -> OnboardingPlan:
    if not token:
        raise WelcomeLinkInvalid()
    query = select(OnboardingPlan).where(OnboardingPlan.link_token_hash == _token_hash(token))
    plan = session.exec(query.with_for_update() if lock else query).first()
    if plan is None or not _link_live(plan, _today(now)):
        raise WelcomeLinkInvalid()
    return plan


def _tasks_with_files(session: Session, plan: OnboardingPlan) -> list[tuple[str, str, str, int | None]]:
    """(title_zh, title_en, link, material id) of the plan's tasks and its template's tasks that carry a file or a
    link: the materials the new hire reads."""
    rows: list[tuple[str, str, str, int | None]] = [
        (t.title_zh, t.title_en, t.link_url, t.material_id)
        for t in session.exec(
            select(PlanTask).where(PlanTask.plan_id == plan.id).order_by(col(PlanTask.position), col(PlanTask.id))
        )
        if t.link_url or t.material_id
    ]
    if plan.template_id is not None:
        rows += [
            (t.title_zh, t.title_en, t.link_url, t.material_id)
            for t in session.exec(
                select(TemplateTask)
                .where(TemplateTask.template_id == plan.template_id)
                .order_by(col(TemplateTask.position), col(TemplateTask.id))
            )
            if t.link_url or t.material_id
        ]
    return rows


def _readable_ids(session: Session, plan: OnboardingPlan) -> set[int]:
    """The materials the plan's link may download: its tasks' and template's, and the plan's own files."""
    ids = {m for _, _, _, m in _tasks_with_files(session, plan) if m is not None}
    return ids | set(session.exec(select(Material.id).where(Material.plan_id == plan.id)))  # type: ignore[arg-type]


def _files(session: Session, where: Any) -> list[Material]:
    return list(session.exec(select(Material).options(defer(Material.content)).where(where).order_by(col(Material.id))))  # type: ignore[arg-type]


def open_welcome(
    *, session: Session, token: str, language: str | None = None, now: datetime | None = None
) -> WelcomePage:
    """What the new hire's page shows for a working link, its texts in `language` (default: the new hire's);
    WelcomeLinkInvalid for an unknown, revoked or expired one."""
    plan = _plan_of(session, token, now=now)
    application = session.get(Application, plan.application_id)
    candidate = session.get(Candidate, application.candidate_id) if application else None
    offer = session.get(Offer, plan.offer_id)
    if candidate is None or offer is None:
        raise WelcomeLinkInvalid()
    zh = (language if language in ("zh", "en") else _language(candidate)) == "zh"
    materials: list[PageMaterial] = []
    links: list[PageLink] = []
    names = {m.id: m.filename for m in _files(session, col(Material.id).in_(_readable_ids(session, plan)))}
    seen_files: set[int] = set()
    seen_links: set[str] = set()
    for title_zh, title_en, link, material_id in _tasks_with_files(session, plan):
        title = title_zh if zh else title_en
        if material_id is not None and material_id not in seen_files and material_id in names:
            seen_files.add(material_id)
            materials.append(PageMaterial(material_id, title, names[material_id]))
        if link and link not in seen_links:
            seen_links.add(link)
            links.append(PageLink(title, link))
    for m in _files(session, (col(Material.plan_id) == plan.id) & col(Material.uploaded_by_id).is_not(None)):
        if m.id not in seen_files:
            materials.append(PageMaterial(m.id or 0, m.filename, m.filename))
    items = session.exec(
        select(ChecklistItem)
        .where(ChecklistItem.plan_id == plan.id)
        .order_by(col(ChecklistItem.position), col(ChecklistItem.id))
    )
    return WelcomePage(
        language=_language(candidate),
        name=candidate.name,
        job_title=offer.job_title,
        start_date=plan.start_date,
        location=offer.location,
        contacts=_contacts(session, plan),
        valid_until=plan.probation_end,
        sessions=[
            PageSession(s.title, s.starts_at, s.ends_at, s.location, s.meeting_link)
            for s in scheduled_sessions(session=session, plan_id=plan.id or 0)
        ],
        materials=materials,
        links=links,
        checklist=[PageItem(i.id or 0, i.label_zh if zh else i.label_en, i.done_at is not None) for i in items],
        uploads=[
            PageUpload(m.id or 0, m.filename, m.size, m.uploaded_at)
            for m in _files(session, (col(Material.plan_id) == plan.id) & col(Material.uploaded_by_id).is_(None))
        ],
    )


def tick_checklist_item(*, session: Session, token: str, item_id: int, ticked: bool) -> ChecklistItem:
    """Tick one item of the new hire's checklist off (or on again) through their link (no commit); an item of any
    other plan is NotFound."""
    plan = _plan_of(session, token)
    item = session.get(ChecklistItem, item_id)
    if item is None or item.plan_id != plan.id:
        raise NotFound()
    if ticked and item.done_at is None:
        item.done_at = utcnow()
    elif not ticked:
        item.done_at = None
    session.add(item)
    session.flush()
    return item


def download_material(*, session: Session, token: str, material_id: int) -> FileData:
    """A file the new hire's page lists (their plan's materials, its template's, their own uploads); any other is
    NotFound."""
    plan = _plan_of(session, token)
    if material_id not in _readable_ids(session, plan):
        raise NotFound()
    return read_material(session=session, material_id=material_id, plan_id=plan.id)


def upload_material(*, session: Session, token: str, filename: str, content: bytes) -> Material:
    """Keep a document the new hire uploads through their link (no commit): allowed types and size only
    (services.onboard.materials.check_file); the same file uploaded twice is kept once."""
    plan = _plan_of(session, token, lock=True)
    digest = hashlib.sha256(content or b"").hexdigest()
    uploads = _files(session, (col(Material.plan_id) == plan.id) & col(Material.uploaded_by_id).is_(None))
    twin = next((m for m in uploads if m.sha256 == digest and m.size == len(content or b"")), None)
    if twin is not None and content:
        return twin
    if len(uploads) >= MAX_UPLOADS:
        raise ValidationError.single("file", "err.too_many_files", max=MAX_UPLOADS)
    return store_material(session=session, filename=filename, content=content, actor=None, plan_id=plan.id)


# --------------------------------------------------------------------------- what HR sees of the page
def plan_checklist(*, session: Session, actor: User, plan_id: int) -> list[ChecklistItem]:
    """The new hire's checklist as they have ticked it."""
    plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.onboard)
    return list(
        session.exec(
            select(ChecklistItem)
            .where(ChecklistItem.plan_id == plan_id)
            .order_by(col(ChecklistItem.position), col(ChecklistItem.id))
        )
    )


def plan_uploads(*, session: Session, actor: User, plan_id: int) -> list[PageUpload]:
    """The documents the new hire uploaded through their link, oldest first."""
    plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.onboard)
    return [
        PageUpload(m.id or 0, m.filename, m.size, m.uploaded_at)
        for m in _files(session, (col(Material.plan_id) == plan_id) & col(Material.uploaded_by_id).is_(None))
    ]


def download_upload(*, session: Session, actor: User, plan_id: int, material_id: int) -> FileData:
    """One document of the plan's (an upload of the new hire's); a file of any other plan is NotFound."""
    plan_in_scope(session=session, actor=actor, plan_id=plan_id, cap=Cap.onboard)
    row = session.get(Material, material_id)
    if row is None or row.plan_id != plan_id:
        raise NotFound()
    return read_material(session=session, material_id=material_id, plan_id=plan_id)
