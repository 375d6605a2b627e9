"""The mail outbox, its attachments, and reminders already sent (one per rule, item, window and person)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from models.common import utcnow


class MailStatus(StrEnum):
    draft = "draft"  # prepared for a person to review, edit and send; never claimed by the worker
    held = "held"  # no mail server configured yet; goes out once one is
    queued = "queued"
    sending = "sending"  # claimed by a worker until lease_until
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"


class OutboxMessage(SQLModel, table=True):
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # A candidate's mail newest first (the board's "newest mail did not go out", the candidate's history):
        # without the id in it, PostgreSQL with no statistics walked the whole table backwards for each row.
        Index("ix_outbox_candidate_newest", "candidate_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    to_addrs: str = Field(sa_column=Column(Text, nullable=False))  # comma-separated addresses
    cc_addrs: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    subject: str = Field(max_length=300)
    html: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    template: str = Field(default="", max_length=60)
    language: str = Field(default="zh", max_length=5)
    candidate_id: int | None = Field(default=None, foreign_key="candidate.id")
    application_id: int | None = Field(default=None, foreign_key="application.id")
    recipient_user_id: int | None = Field(default=None, foreign_key="user.id")
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    status: MailStatus = Field(default=MailStatus.queued, max_length=10, sa_type=AutoString)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    lease_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    message_id: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sent_at: datetime | None = None
    # Bumped by every edit of a draft (and by sending or discarding it): two tabs acting on one draft conflict.
    version: int = Field(default=1)


class OutboxAttachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(foreign_key="outboxmessage.id", index=True)
    filename: str = Field(max_length=200)
    mime_type: str = Field(default="application/octet-stream", max_length=100)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Set for a part shown inside the HTML (`<img src="cid:...">`, multipart/related), empty for an attachment.
    content_id: str = Field(default="", max_length=200)


class Reminder(SQLModel, table=True):
    """A reminder that was raised: the unique key makes each rule fire once per item, window and person."""

    __table_args__ = (
        UniqueConstraint("rule", "item_key", "window", "user_id"),
        # A person's reminders; led by the person, it also holds the whole key, so that any lookup by person
        # PostgreSQL picks reads one entry (by the person alone it read all of theirs for every item).
        Index("ix_reminder_user_key", "user_id", "rule", "item_key", "window"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=40)
    item_key: str = Field(max_length=100)
    window: str = Field(max_length=40)
    user_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    # JSON with what the mail needs (titles, names, due time)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    # Mailed on its own, or gathered into a daily digest (digested_at set when the digest is queued).
    mailed: bool = False
    digested_at: datetime | None = None
