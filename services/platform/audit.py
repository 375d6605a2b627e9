"""Writes to the audit log; every service that changes data calls `record` in its transaction."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from models.audit import AuditLog
from models.user import User


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value changed, as {field: [old, new]}."""
    return {k: [_plain(before.get(k)), _plain(v)] for k, v in after.items() if before.get(k) != v}


def record(
    *,
    session: Session,
    actor: User | None,
    entity: str,
    entity_id: int,
    action: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """Add one audit row to the current transaction (the caller commits)."""
    session.add(
        AuditLog(
            user_id=actor.id if actor else None,
            entity=entity,
            entity_id=entity_id,
            action=action,
            changes=json.dumps(
                {k: _plain(v) if not isinstance(v, list) else v for k, v in (changes or {}).items()},
                ensure_ascii=False,
                default=str,
            ),
        )
    )


def list_audit(
    *,
    session: Session,
    entity: str,
    entity_id: int | None = None,
    entity_ids: list[int] | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The audit trail of one record (or of several of one kind, in one query), newest first, with the actor's
    name."""
    ids = [entity_id] if entity_id is not None else list(entity_ids or [])
    if not ids:
        return []
    rows = session.exec(
        select(AuditLog, User.name)
        .join(User, col(User.id) == AuditLog.user_id, isouter=True)
        .where(AuditLog.entity == entity, col(AuditLog.entity_id).in_(ids))
        .order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc())
        .limit(limit)
    ).all()
    return [
        {"at": row.at, "user": name or "", "action": row.action, "changes": json.loads(row.changes or "{}")}
        for row, name in rows
    ]
