"""Settings admins change in the app (models.onboard.AppSetting rows), and the markers worker jobs keep there."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.common import utcnow
from models.onboard import AppSetting


def save_setting(
    session: Session,
    key: str,
    value: str,
    *,
    by_id: int | None = None,
    at: datetime | None = None,
    row: AppSetting | None = None,
) -> AppSetting:
    """Store `value` under `key` (the row made on first use; `row` when the caller has read it already), stamped with
    when and by whom (None: a worker job). Added to the session; not flushed."""
    row = row or session.get(AppSetting, key) or AppSetting(key=key)
    row.value, row.updated_at, row.updated_by_id = value, at or utcnow(), by_id
    session.add(row)
    return row
