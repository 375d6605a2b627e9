"""Mail as rows in the outbox: render from templates, queue in the caller's transaction, manage the outbox.

Sending is the worker's job (services/mail/mailer.py). A service that wants mail sent calls `queue_template` or
`queue_mail` in the caller's transaction, so a rolled-back change sends nothing and a committed one is never lost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, cast

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import case, literal, or_, union_all, update
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, func, select

from models.common import check_email, utcnow
from models.mail import MailStatus, OutboxAttachment, OutboxMessage
from models.user import User
from models.worker import WorkerHeartbeat
from services.platform.config import ROOT, Settings, get_settings
from services.platform.errors import Conflict, InvalidTransition, NotFound, ValidationError
from services.platform.i18n import LANGUAGES, fmt_datetime, t, translations
from services.platform.policy import Cap, require_cap, sees_every_owner

TEMPLATES = ROOT / "templates" / "mail"
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


@dataclass
class Rendered:
    subject: str
    html: str
    text: str


@dataclass
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"
    content_id: str = ""  # set: shown inside the HTML (`<img src="cid:…">`), not offered as a file


@lru_cache
def _envs(language: str) -> tuple[Environment, Environment]:
    """The HTML and the plain-text environment of one language, its catalog installed for `_()`/`ngettext()`.

    One pair per language, built once and never changed afterwards: renders in different languages may run at
    once (the worker's threads, the app's sessions), and installing another language's catalog into a shared
    environment for each render would race. Newstyle gettext fills `%(name)s` itself and, in HTML, escapes the
    values it fills in while leaving the catalog's text as written."""
    loader = FileSystemLoader(str(TEMPLATES))
    html = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    text = Environment(
        loader=loader,
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    for env in (html, text):
        env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return html, text


def render(template: str, language: str, **context: Any) -> Rendered:
    """Subject, HTML and plain text of `templates/mail/<template>.j2` in `language` (HTML escaped, text not)."""
    language = language if language in LANGUAGES else "zh"
    settings = get_settings()
    ctx = {"app_name": t("app.title", language), "base_url": settings.base_url.rstrip("/"), "lang": language} | context
    html_env, text_env = _envs(language)
    name = f"{template}.j2"
    html = html_env.get_template(name).render(ctx)
    plain = text_env.get_template(name)
    subject = "".join(plain.blocks["subject"](plain.new_context(ctx))).strip()
    text = "".join(plain.blocks["body_text"](plain.new_context(ctx))).strip() + "\n"
    if ctx.get("consent_link"):  # the candidate's footer (`queue_template`), in the plain text as well
        text += "\n-- \n" + t("mail.consent_footer_text", language, link=ctx["consent_link"]) + "\n"
        text += t("mail.notice_footer_text", language, link=ctx["notice_link"]) + "\n"
    return Rendered(subject=" ".join(subject.split())[:300], html=html, text=text)


def _addresses(value: str | list[str] | None, field: str, required: bool) -> list[str]:
    items = value if isinstance(value, list) else [a for a in (value or "").replace(";", ",").split(",")]
    out = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        try:
            checked = check_email(item)
        except ValueError:
            raise ValidationError.single(field, "err.email_invalid") from None
        if checked and checked not in out:
            out.append(checked)
    if required and not out:
        raise ValidationError.single(field, "err.required")
    if len(out) > 50:
        raise ValidationError.single(field, "err.too_many_recipients", max=50)
    return out


def new_message_id() -> str:
    domain = get_settings().mail_from.rsplit("@", 1)[-1] or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def queue_mail(
    *,
    session: Session,
    to: str | list[str],
    subject: str,
    html: str,
    text: str,
    key: str,
    cc: str | list[str] | None = None,
    attachments: list[Attachment] | None = None,
    candidate_id: int | None = None,
    application_id: int | None = None,
    recipient_user_id: int | None = None,
    created_by: User | None = None,
    template: str = "",
    language: str = "zh",
    draft: bool = False,
) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction (no commit); the same key queues it only once.

    A draft waits for a person to review and send it (`send_draft`)."""
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key[:200])).first()
    if existing is not None:
        return existing
    message = OutboxMessage(
        **_message_values(
            to=to,
            subject=subject,
            html=html,
            text=text,
            key=key,
            cc=cc,
            attachments=attachments,
            candidate_id=candidate_id,
            application_id=application_id,
            recipient_user_id=recipient_user_id,
            created_by=created_by,
            template=template,
            language=language,
            draft=draft,
        )
    )
    session.add(message)
    session.flush()
    for a in attachments or []:
        session.add(
            OutboxAttachment(
                outbox_id=message.id or 0,
                filename=a.filename[:200],
                content=a.content,
                mime_type=a.mime_type[:100],
                content_id=a.content_id,
            )
        )
    return message


def _message_values(
    *,
    to: str | list[str],
    subject: str,
    html: str,
    text: str,
    key: str,
    cc: str | list[str] | None = None,
    attachments: list[Attachment] | None = None,
    candidate_id: int | None = None,
    application_id: int | None = None,
    recipient_user_id: int | None = None,
    created_by: User | None = None,
    template: str = "",
    language: str = "zh",
    draft: bool = False,
) -> dict[str, Any]:
    """The column values of a validated outbox row (the columns left out take their defaults)."""
    to_list = _addresses(to, "to", required=True)
    cc_list = _addresses(cc, "cc", required=False)
    subject = " ".join((subject or "").split())
    if not subject:
        raise ValidationError.single("subject", "err.required")
    if len(subject) > 300:
        raise ValidationError.single("subject", "err.too_long", max=300)
    if len(html) > 2_000_000 or len(text) > 2_000_000:
        raise ValidationError.single("body", "err.too_long", max=2_000_000)
    total = sum(len(a.content) for a in attachments or [])
    if total > MAX_ATTACHMENT_BYTES:
        raise ValidationError.single("attachments", "err.attachments_too_big", mb=MAX_ATTACHMENT_BYTES // 2**20)
    return dict(
        idempotency_key=key[:200],
        to_addrs=",".join(to_list),
        cc_addrs=",".join(cc_list),
        subject=subject,
        html=html,
        text=text,
        template=template,
        language=language,
        candidate_id=candidate_id,
        application_id=application_id,
        recipient_user_id=recipient_user_id,
        created_by_id=created_by.id if created_by else None,
        status=MailStatus.draft if draft else MailStatus.queued if get_settings().mail_configured else MailStatus.held,
        message_id=new_message_id(),
    )


def queue_template(
    *,
    session: Session,
    template: str,
    language: str,
    to: str | list[str],
    key: str,
    context: dict[str, Any],
    **kwargs: Any,
) -> OutboxMessage:
    """Render a template and queue it (no commit); see `queue_mail` for the keyword arguments. Mail to a candidate
    (`candidate_id` given, no staff recipient) carries their own consent link and the privacy notice in its footer."""
    if kwargs.get("candidate_id") is not None and kwargs.get("recipient_user_id") is None:
        from services.privacy.consent import mail_footer  # privacy builds on mail, not the other way round

        context = context | mail_footer(session=session, candidate_id=kwargs["candidate_id"], language=language)
    rendered = render(template, language, **context)
    return queue_mail(
        session=session,
        to=to,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        key=key,
        template=template,
        language=language,
        **kwargs,
    )


def queue_templates(*, session: Session, template: str, messages: list[dict[str, Any]]) -> int:
    """Render and queue many messages of one template (no commit) in a few statements rather than two each:
    every dict holds `queue_template`'s other keyword arguments (no attachments); a key already queued is
    skipped, as with `queue_template`. Returns how many were queued."""
    keys = [m["key"][:200] for m in messages]
    queued: set[str] = set()
    for start in range(0, len(keys), 500):
        queued.update(
            session.exec(
                select(OutboxMessage.idempotency_key).where(
                    col(OutboxMessage.idempotency_key).in_(keys[start : start + 500])
                )
            )
        )
    rows = []
    for m in messages:
        fields = dict(m)
        context = fields.pop("context")
        if fields["key"][:200] in queued:
            continue
        queued.add(fields["key"][:200])
        rendered = render(template, fields["language"], **context)
        rows.append(
            _message_values(
                subject=rendered.subject, html=rendered.html, text=rendered.text, template=template, **fields
            )
        )
    if rows:  # one executemany of plain values: no ids are needed, and the ORM would insert them one by one
        session.execute(OutboxMessage.__table__.insert(), rows)  # type: ignore[attr-defined]
    return len(rows)


def queue_test_message(*, session: Session, actor: User, to: str) -> OutboxMessage:
    """Queue a test message to `to` (admin); it goes out with the next worker run, or waits held."""
    require_cap(actor, Cap.mail_test)
    now = utcnow()
    message = queue_template(
        session=session,
        template="test_message",
        language=actor.language,
        to=to,
        key=f"test:{actor.id}:{uuid.uuid4().hex}",
        created_by=actor,
        context={"requested_by": actor.name, "requested_at": fmt_datetime(now, actor.language, get_settings().tz)},
    )
    session.flush()
    return message


def queue_operator_test_message(*, session: Session, to: str, language: str = "zh") -> OutboxMessage:
    """Queue a test message to `to` for the command line (`manage.py mail-test`), which needs no account: the
    person running it holds the server and its database, and may check the mail server before anyone signs in."""
    now = utcnow()
    message = queue_template(
        session=session,
        template="test_message",
        language=language,
        to=to,
        key=f"test:cli:{uuid.uuid4().hex}",
        context={"requested_by": "manage.py mail-test", "requested_at": fmt_datetime(now, language, get_settings().tz)},
    )
    session.flush()
    return message


COUNT_CAP = 1_000  # the outbox counts each status up to this many (as the candidate list does)


def list_outbox(
    *, session: Session, actor: User, status: str | None = None, page: int = 1, page_size: int = 50
) -> tuple[list[OutboxMessage], dict[str, int]]:
    """One page of the outbox, newest first, and the number of messages in each status."""
    require_cap(actor, Cap.outbox)
    # The list shows no bodies: left unread (a page of 50 stored bodies cost PostgreSQL ~50 ms to fetch).
    # (cast: sqlmodel types a model's column attribute as its value; `defer` wants the attribute it is)
    query = (
        select(OutboxMessage)
        .options(
            defer(cast(QueryableAttribute[str], OutboxMessage.html)),
            defer(cast(QueryableAttribute[str], OutboxMessage.text)),
        )
        .order_by(col(OutboxMessage.id).desc())
    )
    if status:
        query = query.where(OutboxMessage.status == status)
    rows = list(session.exec(query.offset((max(page, 1) - 1) * page_size).limit(page_size)))
    # Each status counted up to COUNT_CAP + 1 (a value over the cap reads "1,000+"): the mail ever sent is
    # hundreds of thousands at 100k candidates, and counting all of it on every visit cost PostgreSQL 100 ms.
    capped = [
        select(literal(status.value).label("status"), func.count().label("n")).select_from(
            # In the index's own order, so that the read stops at the cap (an unordered read built a bitmap of all).
            select(OutboxMessage.id)
            .where(OutboxMessage.status == status)
            .order_by(col(OutboxMessage.next_attempt_at))
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        for status in MailStatus
    ]
    counts = dict(session.exec(union_all(*capped)).all())  # type: ignore[call-overload]
    return rows, {s.value: counts.get(s.value, 0) for s in MailStatus}


def worker_heartbeats(*, session: Session, actor: User) -> list[WorkerHeartbeat]:
    """Every worker that ever ran against this database, the most recent pass first (nothing changes)."""
    require_cap(actor, Cap.outbox)
    return list(session.exec(select(WorkerHeartbeat).order_by(col(WorkerHeartbeat.last_pass_at).desc())))


def get_message(*, session: Session, actor: User, message_id: int) -> tuple[OutboxMessage, list[OutboxAttachment]]:
    """One message with its attachments, for the preview."""
    require_cap(actor, Cap.outbox)
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound()
    attachments = list(session.exec(select(OutboxAttachment).where(OutboxAttachment.outbox_id == message_id)))
    return message, attachments


def retry_message(*, session: Session, actor: User, message_id: int) -> OutboxMessage:
    """Send a failed (or cancelled) message again with a fresh set of attempts."""
    require_cap(actor, Cap.outbox)
    status = MailStatus.queued if get_settings().mail_configured else MailStatus.held
    result = session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.status).in_([MailStatus.failed, MailStatus.cancelled]),
        )
        .values(status=status, attempts=0, next_attempt_at=utcnow(), last_error="", lease_until=None, claimed_by=None)
    )
    if result.rowcount != 1:
        _explain(session, message_id, "err.mail_not_retryable")
    return session.get(OutboxMessage, message_id, populate_existing=True)  # type: ignore[return-value]


def cancel_message(*, session: Session, actor: User, message_id: int) -> OutboxMessage:
    """Stop a message that has not gone out yet (queued, held, or waiting to retry)."""
    require_cap(actor, Cap.outbox)
    result = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.status).in_([MailStatus.queued, MailStatus.held]))
        .values(status=MailStatus.cancelled, last_error="")
    )
    if result.rowcount != 1:
        _explain(session, message_id, "err.mail_not_cancellable")
    return session.get(OutboxMessage, message_id, populate_existing=True)  # type: ignore[return-value]


def _explain(session: Session, message_id: int, key: str) -> None:
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        raise NotFound()
    raise InvalidTransition(key, status=message.status)


def release_held(*, session: Session) -> int:
    """Once a mail server is configured, held messages join the queue; returns how many."""
    if not get_settings().mail_configured:
        return 0
    result = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == MailStatus.held)
        .values(status=MailStatus.queued, next_attempt_at=utcnow())
    )
    session.flush()
    return result.rowcount or 0


def heard_update(candidate_id: Any, at: Any) -> list[Any]:
    """The UPDATEs that record word reaching a candidate at `at` (a mail sent, a contact that reached them):
    `candidate.heard_at` moves forward, never back, and their applications' `last_end_unheard` and
    `previous_end_unheard` clear where that end is no later. Run by the mail worker as it marks a mail sent and
    by followup.log_contact; they do not touch the candidate's version (an open edit form is not invalidated)."""
    from models.candidate import Application, Candidate

    return [
        update(Candidate)
        .where(col(Candidate.id) == candidate_id, or_(col(Candidate.heard_at).is_(None), col(Candidate.heard_at) < at))
        .values(heard_at=at),
        update(Application)
        .where(
            col(Application.candidate_id) == candidate_id,
            or_(col(Application.last_end_unheard) <= at, col(Application.previous_end_unheard) <= at),
        )
        .values(
            last_end_unheard=case(
                (col(Application.last_end_unheard) <= at, None), else_=col(Application.last_end_unheard)
            ),
            previous_end_unheard=case(
                (col(Application.previous_end_unheard) <= at, None), else_=col(Application.previous_end_unheard)
            ),
        ),
    ]


def backoff(attempts: int) -> timedelta:
    """Delay before attempt `attempts + 1`: the base delay doubled per failure, at most 6 hours."""
    base = get_settings().mail_retry_seconds
    return timedelta(seconds=min(base * (2 ** max(attempts - 1, 0)), 6 * 3600))


def text_to_html(text: str, language: str) -> str:
    """An edited plain-text body as HTML in the mail layout (escaped; blank lines make paragraphs)."""
    from markupsafe import escape

    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(f"<p>{escape(p)}</p>".replace("\n", "<br>") for p in paragraphs)
    language = language if language in LANGUAGES else "zh"
    html_env, _ = _envs(language)
    layout = html_env.get_template("_base.html.j2")
    return layout.render(lang=language, app_name=t("app.title", language), base_url=get_settings().base_url).replace(
        "<!--body-->", body
    )


def team_signature(language: str) -> str:
    """Who mail to candidates is signed by: the recruiting team — the sender name from the settings
    (FOLLOWUP_MAIL_FROM_NAME), or "招聘团队" / "Recruiting team" while it is the bilingual default."""
    name = " ".join(get_settings().mail_from_name.split())
    if not name or name == Settings.model_fields["mail_from_name"].default:
        return t("mail.team", language)
    return name


def _draft_fields(subject: str, text: str) -> tuple[str, str]:
    subject = " ".join((subject or "").split())
    fields: dict[str, tuple[str, dict[str, Any]]] = {}
    if not subject:
        fields["subject"] = ("err.required", {})
    elif len(subject) > 300:
        fields["subject"] = ("err.too_long", {"max": 300})
    if not (text or "").strip():
        fields["body"] = ("err.required", {})
    elif len(text) > 50_000:
        fields["body"] = ("err.too_long", {"max": 50_000})
    if fields:
        raise ValidationError(fields)
    return subject, text.strip() + "\n"


def _edited_draft(session: Session, message_id: int, subject: str, text: str) -> tuple[str, str, str]:
    """A draft's subject, text and HTML as the person edited them (the HTML rebuilt only if the text changed)."""
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound()
    subject, text = _draft_fields(subject, text)
    html = text_to_html(text, message.language) if text.strip() != message.text.strip() else message.html
    return subject, text, html


def _draft_update(session: Session, message_id: int, version: int | None, **values: Any) -> OutboxMessage:
    """Change a draft only while it is one and (given `version`) still the version the person saw: of two
    tabs acting on one draft, the second is refused (a Conflict while it is still a draft)."""
    where = [col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == MailStatus.draft]
    if version is not None:
        where.append(col(OutboxMessage.version) == version)
    result = session.exec(update(OutboxMessage).where(*where).values(version=OutboxMessage.version + 1, **values))
    # What the message is now (changed by this UPDATE, or by someone else's), not what this session read before.
    message = session.get(OutboxMessage, message_id, populate_existing=True)
    if result.rowcount != 1:
        if message is None:
            raise NotFound()
        if message.status == MailStatus.draft:
            raise Conflict("err.draft_changed", current=message)
        raise InvalidTransition("err.mail_not_draft", status=message.status)
    return message  # type: ignore[return-value]


def save_draft(
    *, session: Session, actor: User, message_id: int, subject: str, text: str, version: int | None = None
) -> OutboxMessage:
    """Keep the edited subject and text of a draft without sending it (recruiter, admin)."""
    require_cap(actor, Cap.outbox)
    subject, text, html = _edited_draft(session, message_id, subject, text)
    return _draft_update(session, message_id, version, subject=subject, text=text, html=html)


def send_draft(
    *, session: Session, actor: User, message_id: int, subject: str, text: str, version: int | None = None
) -> OutboxMessage:
    """Send a prepared draft after review, with the subject and text as edited (recruiter, admin); it goes once,
    however many tabs press Send."""
    require_cap(actor, Cap.outbox)
    subject, text, html = _edited_draft(session, message_id, subject, text)
    status = MailStatus.queued if get_settings().mail_configured else MailStatus.held
    return _draft_update(
        session,
        message_id,
        version,
        status=status,
        subject=subject,
        text=text,
        html=html,
        next_attempt_at=utcnow(),
        created_by_id=actor.id,
    )


def discard_draft(*, session: Session, actor: User, message_id: int, version: int | None = None) -> OutboxMessage:
    """Drop a prepared draft without sending it."""
    require_cap(actor, Cap.outbox)
    return _draft_update(session, message_id, version, status=MailStatus.cancelled)


def drafts_waiting_for(*, session: Session, actor: User, limit: int = 200) -> list[OutboxMessage]:
    """Drafts to candidates waiting for this person to review: those of the candidates they own; an admin also
    gets the drafts of candidates nobody owns. Oldest first."""
    require_cap(actor, Cap.outbox)
    return list(session.exec(waiting_drafts(actor).order_by(col(OutboxMessage.id)).limit(limit)))


def waiting_drafts(reader: User, *columns: Any) -> Any:
    """SQL: `columns` (the whole message by default) of the drafts waiting for `reader` (`drafts_waiting_for`)."""
    from models.candidate import Candidate  # mail knows no screen; the candidate decides whose draft it is

    mine = col(Candidate.owner_id) == reader.id
    if sees_every_owner(reader):
        mine = or_(mine, col(Candidate.owner_id).is_(None))
    # Read from the drafts (few) and test each one's candidate — not from the person's candidates (tens of
    # thousands), where PostgreSQL without statistics started (1.9 s at 100k candidates). A scalar subquery, not
    # EXISTS: PostgreSQL turns an EXISTS into a join, which it may again start from the candidates.
    theirs = (
        select(Candidate.id)
        .where(col(Candidate.id) == OutboxMessage.candidate_id, col(Candidate.anonymised_at).is_(None), mine)
        .correlate(OutboxMessage)
    )
    return select(*(columns or (OutboxMessage,))).where(
        OutboxMessage.status == MailStatus.draft, theirs.scalar_subquery().is_not(None)
    )
