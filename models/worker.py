"""Worker heartbeats: when each mail and reminder worker last finished a pass, so the outbox (and an operator's
monitoring) can tell that mail is being sent at all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.common import utcnow


class WorkerHeartbeat(SQLModel, table=True):
    # One row per worker name (the host or FOLLOWUP_SERVER_NAME, and "worker" or "embedded"), so restarts update
    # their row instead of adding one.
    name: str = Field(primary_key=True, max_length=120)
    started_at: datetime = Field(default_factory=utcnow)
    last_pass_at: datetime = Field(default_factory=utcnow)
    # The error of the last pass ("" when it went through); a pass that failed still beats.
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    passes: int = 0
