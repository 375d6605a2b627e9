"""The audit log: who changed what, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.common import utcnow


class AuditLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    entity: str = Field(max_length=40)
    entity_id: int = Field(index=True)
    action: str = Field(max_length=40)
    # JSON: {"field": [old, new]} for updates, the new values for creations.
    changes: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
