"""A column mapping a person confirmed for an import file, remembered for the next file with the same headers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.common import utcnow


class ImportMapping(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("kind", "signature"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # what the file imports: "candidates", "interviews"
    # sha256 of the normalised headers in order: the same spreadsheet layout finds its mapping again.
    signature: str = Field(max_length=64)
    # JSON list: the target field of each file column in order, "" for an ignored column.
    mapping: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)
