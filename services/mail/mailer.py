"""The mail worker: claim due messages, send them through yagmail over one SMTP connection, record each fate.

Claiming is safe with several workers: on PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED,
and everywhere the claim itself is one conditional UPDATE that tags rows with this batch's token, so a row
can only be tagged by one batch. A claimed message carries a lease; if its worker dies, the message is
claimable again once the lease has expired (so at most the message in flight is sent twice).
"""

from __future__ import annotations

import logging
import mimetypes
import smtplib
import socket
import ssl
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import encoders
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formatdate
from typing import cast

import yagmail
from sqlalchemy import ColumnElement, and_, bindparam, or_, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select
from yagmail.headers import add_message_id, add_recipients_headers, add_subject, resolve_addresses

from models.common import utcnow
from models.mail import MailStatus, OutboxAttachment, OutboxMessage
from services.mail.outbox import backoff, heard_update
from services.platform.config import Settings, get_settings
from services.platform.db import session_scope

log = logging.getLogger("followup.mailer")
TRANSIENT_ERRORS = (
    ConnectionError,
    TimeoutError,
    socket.timeout,
    socket.gaierror,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    OSError,
)


def _connection_lost(exc: BaseException | None) -> bool:
    """A dropped or refused connection (not an SMTP reply, which smtplib also makes an OSError)."""
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(
        exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused
    )


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


def _claimable(now: datetime) -> ColumnElement[bool]:
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
    # The claim is a transaction of its own, committed before anything is sent: other workers see it at once.
    with session_scope(engine) as session:
        query = (
            select(OutboxMessage.id)
            .where(_claimable(now))
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(session.exec(query).all())
        if not ids:
            return token, []
        session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids), _claimable(now))
            .values(status=MailStatus.sending, claimed_by=token, lease_until=now + timedelta(seconds=lease_seconds))
        )
        claimed = list(
            session.exec(
                select(OutboxMessage.id)
                .where(OutboxMessage.claimed_by == token, OutboxMessage.status == MailStatus.sending)
                .order_by(col(OutboxMessage.id))
            ).all()
        )
    return token, cast(list[int], claimed)  # ids read back from the table: never None (`int | None` is for new rows)


def connect(settings: Settings) -> yagmail.SMTP:
    """An open, logged-in yagmail connection from the settings (the password is never logged)."""
    security = settings.smtp_security
    client = yagmail.SMTP(
        user={settings.mail_from: settings.mail_from_name} if settings.mail_from_name else settings.mail_from,
        password=settings.smtp_password.get_secret_value() or None,
        host=settings.smtp_host,
        port=settings.smtp_port_effective,
        smtp_ssl=security == "ssl",
        smtp_starttls=security == "starttls",
        smtp_skip_login=not settings.smtp_user,
        timeout=settings.smtp_timeout,
    )
    if settings.smtp_user:
        # yagmail logs in as the From address; a relay account may differ from it.
        client.user = settings.smtp_user
    client.login()
    if settings.smtp_user:
        client.user = settings.mail_from
    return client


def _attachment_part(attachment: OutboxAttachment) -> MIMEBase:
    """One attachment, always marked as such and named (RFC 2231, so Chinese file names survive)."""
    mime_type = attachment.mime_type if "/" in attachment.mime_type else ""
    if mime_type in ("", "application/octet-stream"):
        mime_type = mimetypes.guess_type(attachment.filename)[0] or "application/octet-stream"
    maintype, subtype = mime_type.split("/", 1)
    part = MIMEBase(maintype, subtype, name=("utf-8", "", attachment.filename))
    del part["MIME-Version"]
    part.set_payload(attachment.content)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
    return part


def _inline_part(attachment: OutboxAttachment) -> MIMEBase:
    """A part the HTML shows where it says `cid:<content_id>` (an image of the weekly digest, say)."""
    part = _attachment_part(attachment)
    del part["Content-Disposition"]
    part.add_header("Content-Disposition", "inline", filename=attachment.filename)
    part["Content-ID"] = f"<{attachment.content_id}>"
    return part


def _html_part(html: str, inline: list[OutboxAttachment]) -> MIMEBase:
    """The HTML body; with parts shown inside it, multipart/related holding the HTML first and then those parts
    (RFC 2387), so that mail clients show them in place instead of listing them as attachments."""
    body = MIMEText(html, "html", "utf-8")
    if not inline:
        return body
    del body["MIME-Version"]
    related = MIMEMultipart("related", boundary=_boundary(), type="text/html")
    related.attach(body)
    for attachment in inline:
        related.attach(_inline_part(attachment))
    return related


def build_mime(
    client: yagmail.SMTP, message: OutboxMessage, attachments: list[OutboxAttachment]
) -> tuple[list[str], str]:
    """The recipients and the MIME text of one message: yagmail's headers, our own body and attachment parts."""
    to = [a for a in message.to_addrs.split(",") if a]
    cc = [a for a in message.cc_addrs.split(",") if a] or None
    addresses = resolve_addresses(client.user, client.useralias, to, cc, None)
    # Not yagmail's prepare_message: it wraps the HTML in a <div>, turns its newlines into <br> (inside <head>
    # and <ul> too), copies the HTML source into text/plain, and types attachments by guessing from the file
    # name ("None/None" without an extension, no Content-Disposition for text or images). Its header helpers
    # are kept, so From (with its Chinese display name), To, Cc and Message-ID look as yagmail makes them.
    alternative = MIMEMultipart("alternative", boundary=_boundary())
    inline = [a for a in attachments if a.content_id]
    for body in (MIMEText(message.text, "plain", "utf-8"), _html_part(message.html, inline)):
        del body["MIME-Version"]  # only the top level needs one (RFC 2045); fewer headers to fold, too
        alternative.attach(body)
    del alternative["MIME-Version"]
    msg = MIMEMultipart("mixed", boundary=_boundary())
    msg["Date"] = formatdate()
    add_subject(msg, message.subject)
    add_recipients_headers(client.user, client.useralias, msg, addresses)
    add_message_id(msg, message.message_id)
    msg.attach(alternative)
    for attachment in attachments:
        if not attachment.content_id:
            msg.attach(_attachment_part(attachment))
    # An address in both To and Cc must be one envelope recipient, or some relays deliver the mail twice.
    return list(dict.fromkeys(addresses["recipients"])), msg.as_string(policy=_PLAIN_HEADERS)


class _PlainHeaders(Compat32):
    """compat32 (what these MIME classes use), but a short plain-ASCII header is written as it is.

    email.header.Header returns such a header unchanged anyway, but slowly: headers were almost half the time
    spent building a message. Anything else (Chinese subjects, long lines) still goes through Header.
    """

    def fold(self, name: str, value: str) -> str:
        if (
            isinstance(value, str)
            and value.isascii()
            and "\n" not in value
            and "\r" not in value
            and (not self.max_line_length or len(name) + len(value) + 2 <= self.max_line_length)
        ):
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)


_PLAIN_HEADERS = _PlainHeaders()


def _boundary() -> str:
    # Every part is base64, so a random boundary cannot occur in one; given one, the generator also skips
    # compiling a regular expression per boundary to check (a fifth of the time spent building a message).
    return f"=_{uuid.uuid4().hex}"


def _refusal_detail(refused: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{addr}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
        for addr, (code, msg) in refused.items()
    )


def _send_one(client: yagmail.SMTP, recipients: list[str], mime: str, to: list[str]) -> str:
    """Send one message; returns a note about refused Cc recipients ("" when every one was accepted).

    A refused To recipient is a failure even when a Cc was accepted: the person the message is for did not get
    it. It is not retried, because the copies already went out and would go out twice.
    """
    try:
        refused = client.smtp.sendmail(client.user, recipients, mime)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = _refusal_detail(exc.recipients)
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
    if not refused:
        return ""
    wanted = {a.strip().lower() for a in to}
    refused_to = {a: r for a, r in refused.items() if a.strip().lower() in wanted}
    refused_cc = {a: r for a, r in refused.items() if a not in refused_to}
    accepted = [a for a in recipients if a not in refused]
    if refused_to:
        raise PermanentFailure(
            f"To recipient refused: {_refusal_detail(refused_to)}; delivered only to {', '.join(accepted)}"
        )
    log.warning("Cc recipients refused: %s", refused_cc)
    return f"sent, but a Cc recipient was refused: {_refusal_detail(refused_cc)}"


# Each message's fate is committed on its own, the moment the server has answered, on one connection held for
# the batch. Marking sent rows in groups would save commits, but a crash would then resend every message sent
# since the last group commit; one commit each keeps the promise that a message marked sent is never sent again
# and a crash repeats at most the one in flight. It costs little: on SQLite (WAL, synchronous=NORMAL) a commit
# does not wait for the disk. What did cost was a Session per message and an UPDATE built anew each time
# (0.6 ms a message); the common case now reuses one statement (0.06 ms, commit included).
_MARK_SENT = (
    update(OutboxMessage)
    .where(col(OutboxMessage.id) == bindparam("b_id"), col(OutboxMessage.claimed_by) == bindparam("b_token"))
    .values(
        status=MailStatus.sent,
        attempts=bindparam("b_attempts"),
        sent_at=bindparam("b_sent_at"),
        last_error=bindparam("b_note"),
        lease_until=None,
    )
)


def _mark_sent(conn: Connection, token: str, message: OutboxMessage, note: str = "") -> None:
    """Mark the message sent and, for a mail to a candidate, that word reached them (in the same commit)."""
    sent_at = utcnow()
    with conn.begin():
        marked = conn.execute(
            _MARK_SENT,
            {
                "b_id": message.id,
                "b_token": token,
                "b_attempts": message.attempts + 1,
                "b_sent_at": sent_at,
                "b_note": note[:2000],
            },
        )
        if marked.rowcount == 1 and message.candidate_id is not None:
            for statement in heard_update(message.candidate_id, sent_at):
                conn.execute(statement)


def _finish(conn: Connection, token: str, message_id: int, **values: object) -> None:
    """Record one message's fate and commit it at once, only if this batch still holds the claim."""
    with conn.begin():
        conn.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.claimed_by) == token)
            .values(**values)
        )


def _retry_later(conn: Connection, token: str, message: OutboxMessage, error: str, settings: Settings) -> bool:
    """Back to the queue with back-off, or failed after the last attempt; True when it will be retried."""
    attempts = message.attempts + 1
    if attempts >= settings.mail_max_attempts:
        _finish(
            conn,
            token,
            message.id or 0,
            status=MailStatus.failed,
            attempts=attempts,
            last_error=f"gave up after {attempts} attempts: {error}"[:2000],
            lease_until=None,
        )
        return False
    _finish(
        conn,
        token,
        message.id or 0,
        status=MailStatus.queued,
        attempts=attempts,
        next_attempt_at=utcnow() + backoff(attempts),
        last_error=error[:2000],
        lease_until=None,
    )
    return True


_monotonic = time.monotonic  # a seam for tests


def _renew_lease(conn: Connection, token: str, settings: Settings) -> None:
    """Push the lease of this batch's unsent messages forward, so a slow batch keeps its claim while alive."""
    with conn.begin():
        conn.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.claimed_by) == token, col(OutboxMessage.status) == MailStatus.sending)
            .values(lease_until=utcnow() + timedelta(seconds=settings.mail_lease_seconds))
        )


def _send_batch(
    conn: Connection,
    client: yagmail.SMTP,
    token: str,
    messages: list[OutboxMessage],
    files: dict[int, list[OutboxAttachment]],
    settings: Settings,
    result: BatchResult,
) -> None:
    renewed = _monotonic()
    for index, message in enumerate(messages):
        if _monotonic() - renewed > settings.mail_lease_seconds / 3:
            # A live worker renews its claim; only a dead one's messages are taken over after the lease.
            _renew_lease(conn, token, settings)
            renewed = _monotonic()
        try:
            try:
                recipients, mime = build_mime(client, message, files.get(message.id or 0, []))
            except Exception as exc:  # a message that cannot be built must not block the queue
                raise PermanentFailure(f"the message could not be built: {type(exc).__name__}: {exc}") from exc
            note = _send_one(client, recipients, mime, to=message.to_addrs.split(","))
        except PermanentFailure as exc:
            _finish(
                conn,
                token,
                message.id or 0,
                status=MailStatus.failed,
                attempts=message.attempts + 1,
                last_error=str(exc)[:2000],
                lease_until=None,
            )
            result.failed += 1
            result.errors.append(str(exc))
        except TransientFailure as exc:
            if _retry_later(conn, token, message, str(exc), settings):
                result.retrying += 1
            else:
                result.failed += 1
            result.errors.append(str(exc))
            if _connection_lost(exc.__cause__):
                # The connection is gone: hand the rest back untouched for the next run.
                for rest in messages[index + 1 :]:
                    _finish(conn, token, rest.id or 0, status=MailStatus.queued, lease_until=None)
                break
        else:
            _mark_sent(conn, token, message, note)
            result.sent += 1


def send_due(*, engine: Engine, settings: Settings | None = None, limit: int | None = None) -> BatchResult:
    """Claim one batch of due messages and send it over one connection; returns what happened."""
    settings = settings or get_settings()
    result = BatchResult()
    if not settings.mail_configured:
        return result
    token, ids = claim_batch(
        engine=engine, limit=limit or settings.mail_batch_size, lease_seconds=settings.mail_lease_seconds
    )
    result.claimed = len(ids)
    if not ids:
        return result
    with Session(engine, expire_on_commit=False) as session:
        messages = list(
            session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).order_by(col(OutboxMessage.id)))
        )
        files: dict[int, list[OutboxAttachment]] = {}
        for a in session.exec(select(OutboxAttachment).where(col(OutboxAttachment.outbox_id).in_(ids))):
            files.setdefault(a.outbox_id, []).append(a)
    with engine.connect() as conn:
        try:
            client = connect(settings)
        except (smtplib.SMTPException, ssl.SSLError, *TRANSIENT_ERRORS) as exc:
            error = (
                f"cannot connect to {settings.smtp_host}:{settings.smtp_port_effective}: {type(exc).__name__}: {exc}"
            )
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                error = f"the mail server refused the login ({exc.smtp_code})"
            for message in messages:
                result.retrying += _retry_later(conn, token, message, error, settings)
            result.failed = result.claimed - result.retrying
            result.errors.append(error)
            return result
        try:
            _send_batch(conn, client, token, messages, files, settings, result)
        finally:
            client.close()
    return result
