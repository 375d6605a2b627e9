"""The mail worker: claim due messages, send them through yagmail over one SMTP connection, record each fate.

Claiming is safe with several workers: on PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED,
and everywhere the claim itself is one conditional UPDATE that tags rows with this batch's token, so a row
can only be tagged by one batch. A claimed message carries a lease; if its worker dies, the message is
claimable again once the lease has expired (so at most the message in flight is sent twice).
"""

from __future__ import annotations

import io
import logging
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.mime.text import MIMEText

import yagmail
from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from yagmail.headers import resolve_addresses
from yagmail.message import prepare_message

from models.common import utcnow
from models.mail import MailStatus, OutboxAttachment, OutboxMessage
from services.config import Settings, get_settings
from services.mail import backoff

log = logging.getLogger("followup.mailer")
TRANSIENT_ERRORS = (ConnectionError, TimeoutError, socket.timeout, socket.gaierror, smtplib.SMTPServerDisconnected,
                    smtplib.SMTPConnectError, OSError)


def _connection_lost(exc: BaseException | None) -> bool:
    """A dropped or refused connection (not an SMTP reply, which smtplib also makes an OSError)."""
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(
        exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused)


class TransientFailure(Exception):
    """Worth another try later (server down, time-out, 4xx, yagmail returning False)."""


class PermanentFailure(Exception):
    """Will not get better by retrying (5xx, every recipient refused)."""


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _claimable(now: datetime):  # noqa: ANN202 - SQL expression
    return or_(
        and_(col(OutboxMessage.status) == MailStatus.queued, col(OutboxMessage.next_attempt_at) <= now),
        and_(col(OutboxMessage.status) == MailStatus.sending, col(OutboxMessage.lease_until) < now),
    )


def claim_batch(
    *, engine: Engine, limit: int, lease_seconds: int, now: datetime | None = None
) -> tuple[str, list[int]]:
    """Tag up to `limit` due messages with a new batch token; returns the token and the claimed ids."""
    now = now or utcnow()
    token = uuid.uuid4().hex
    with Session(engine) as session:
        query = (select(OutboxMessage.id).where(_claimable(now))
                 .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id)).limit(limit))
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(session.exec(query).all())
        if not ids:
            return token, []
        session.exec(  # type: ignore[call-overload]
            update(OutboxMessage).where(col(OutboxMessage.id).in_(ids), _claimable(now))
            .values(status=MailStatus.sending, claimed_by=token,
                    lease_until=now + timedelta(seconds=lease_seconds))
        )
        session.commit()
        claimed = list(session.exec(
            select(OutboxMessage.id).where(OutboxMessage.claimed_by == token,
                                           OutboxMessage.status == MailStatus.sending)
            .order_by(col(OutboxMessage.id))
        ).all())
    return token, claimed


def connect(settings: Settings) -> yagmail.SMTP:
    """An open, logged-in yagmail connection from the settings (the password is never logged)."""
    security = settings.smtp_security
    client = yagmail.SMTP(
        user={settings.mail_from: settings.mail_from_name} if settings.mail_from_name else settings.mail_from,
        password=settings.smtp_password.get_secret_value() or None,
        host=settings.smtp_host, port=settings.smtp_port_effective,
        smtp_ssl=security == "ssl", smtp_starttls=security == "starttls",
        smtp_skip_login=not settings.smtp_user, timeout=settings.smtp_timeout,
    )
    if settings.smtp_user:
        # yagmail logs in as the From address; a relay account may differ from it.
        client.user = settings.smtp_user
    client.login()
    if settings.smtp_user:
        client.user = settings.mail_from
    return client


def build_mime(
    client: yagmail.SMTP, message: OutboxMessage, attachments: list[OutboxAttachment]
) -> tuple[list[str], str]:
    """The recipients and the MIME text of one message, built by yagmail, with a real plain-text part."""
    to = [a for a in message.to_addrs.split(",") if a]
    cc = [a for a in message.cc_addrs.split(",") if a] or None
    addresses = resolve_addresses(client.user, client.useralias, to, cc, None)
    files = []
    for a in attachments:
        handle = io.BytesIO(a.content)
        handle.name = a.filename
        files.append(handle)
    msg = prepare_message(client.user, client.useralias, addresses, message.subject, message.html, files or None,
                          None, "utf-8", False, message.message_id, True, None)
    # yagmail puts the HTML source into the text/plain alternative; put the rendered plain text there instead.
    alternative = msg.get_payload()[0]
    alternative.get_payload()[0] = MIMEText(message.text, "plain", "utf-8")
    return addresses["recipients"], msg.as_string()


def _send_one(client: yagmail.SMTP, recipients: list[str], mime: str) -> None:
    try:
        refused = client.smtp.sendmail(client.user, recipients, mime)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{addr}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                           for addr, (code, msg) in exc.recipients.items())
        if all(400 <= c < 500 for c in codes):
            raise TransientFailure(f"recipients refused for now: {detail}") from exc
        raise PermanentFailure(f"every recipient refused: {detail}") from exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            raise TransientFailure(f"{exc.smtp_code} {text}") from exc
        raise PermanentFailure(f"{exc.smtp_code} {text}") from exc
    except TRANSIENT_ERRORS as exc:
        raise TransientFailure(f"{type(exc).__name__}: {exc}") from exc
    if refused is False:
        raise TransientFailure("yagmail reported the message as not sent")
    if refused:
        log.warning("some recipients refused: %s", refused)


def _finish(engine: Engine, token: str, message_id: int, **values: object) -> None:
    with Session(engine) as session:
        session.exec(  # type: ignore[call-overload]
            update(OutboxMessage).where(col(OutboxMessage.id) == message_id, col(OutboxMessage.claimed_by) == token)
            .values(**values)
        )
        session.commit()


def _retry_later(engine: Engine, token: str, message: OutboxMessage, error: str, settings: Settings) -> bool:
    """Back to the queue with back-off, or failed after the last attempt; True when it will be retried."""
    attempts = message.attempts + 1
    if attempts >= settings.mail_max_attempts:
        _finish(engine, token, message.id or 0, status=MailStatus.failed, attempts=attempts,
                last_error=f"gave up after {attempts} attempts: {error}"[:2000], lease_until=None)
        return False
    _finish(engine, token, message.id or 0, status=MailStatus.queued, attempts=attempts,
            next_attempt_at=utcnow() + backoff(attempts), last_error=error[:2000], lease_until=None)
    return True


def send_due(*, engine: Engine, settings: Settings | None = None, limit: int | None = None) -> BatchResult:
    """Claim one batch of due messages and send it over one connection; returns what happened."""
    settings = settings or get_settings()
    result = BatchResult()
    if not settings.mail_configured:
        return result
    token, ids = claim_batch(engine=engine, limit=limit or settings.mail_batch_size,
                             lease_seconds=settings.mail_lease_seconds)
    result.claimed = len(ids)
    if not ids:
        return result
    with Session(engine, expire_on_commit=False) as session:
        messages = list(session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
                                     .order_by(col(OutboxMessage.id))))
        files: dict[int, list[OutboxAttachment]] = {}
        for a in session.exec(select(OutboxAttachment).where(col(OutboxAttachment.outbox_id).in_(ids))):
            files.setdefault(a.outbox_id, []).append(a)
    try:
        client = connect(settings)
    except (smtplib.SMTPException, ssl.SSLError, *TRANSIENT_ERRORS) as exc:
        error = f"cannot connect to {settings.smtp_host}:{settings.smtp_port_effective}: {type(exc).__name__}: {exc}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            error = f"the mail server refused the login ({exc.smtp_code})"
        for message in messages:
            result.retrying += _retry_later(engine, token, message, error, settings)
        result.failed = result.claimed - result.retrying
        result.errors.append(error)
        return result
    try:
        for index, message in enumerate(messages):
            try:
                recipients, mime = build_mime(client, message, files.get(message.id or 0, []))
                _send_one(client, recipients, mime)
            except PermanentFailure as exc:
                _finish(engine, token, message.id or 0, status=MailStatus.failed, attempts=message.attempts + 1,
                        last_error=str(exc)[:2000], lease_until=None)
                result.failed += 1
                result.errors.append(str(exc))
            except TransientFailure as exc:
                if _retry_later(engine, token, message, str(exc), settings):
                    result.retrying += 1
                else:
                    result.failed += 1
                result.errors.append(str(exc))
                if _connection_lost(exc.__cause__):
                    # The connection is gone: hand the rest back untouched for the next run.
                    for rest in messages[index + 1:]:
                        _finish(engine, token, rest.id or 0, status=MailStatus.queued, lease_until=None)
                    break
            else:
                _finish(engine, token, message.id or 0, status=MailStatus.sent, attempts=message.attempts + 1,
                        sent_at=utcnow(), last_error="", lease_until=None)
                result.sent += 1
    finally:
        client.close()
    return result
