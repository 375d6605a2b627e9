"""Staff accounts (admin only): create, roles, language, deactivate."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.common import Language, Role
from models.user import User, UserCreate, UserUpdate
from services.platform import audit
from services.platform.auth import check_password_strength, hash_password, revoke_all_sessions
from services.platform.errors import Conflict, NotAllowed, NotFound, ValidationError, validate
from services.platform.policy import Cap, require_cap


def list_users(*, session: Session, actor: User, role: Role | None = None, active_only: bool = False) -> list[User]:
    """Staff accounts, by name; any signed-in staff member may list them (to pick owners, managers)."""
    require_cap(actor, Cap.use_app)
    query = select(User).order_by(User.name)
    if role:
        query = query.where(col(User.roles).contains(role.value))
    if active_only:
        query = query.where(User.is_active)
    return list(session.exec(query))


def create_user(*, session: Session, actor: User, user_in: dict[str, Any]) -> User:
    """Create a local account with roles (admin only)."""
    require_cap(actor, Cap.manage_users)
    data = validate(UserCreate, user_in)
    if data.password is not None:
        check_password_strength(data.password)
    if session.exec(select(User).where(User.email == data.email)).first():
        raise ValidationError.single("email", "err.email_taken")
    user = User(
        email=data.email,
        name=data.name,
        language=data.language,
        roles=",".join(sorted({r.value for r in data.roles})),
        password_hash=hash_password(data.password) if data.password else None,
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        entity="user",
        entity_id=user.id or 0,
        action="create",
        changes={"email": user.email, "name": user.name, "roles": user.roles},
    )
    session.flush()
    return user


def _remaining_admins(session: Session, excluding: int) -> int:
    return len(
        session.exec(
            select(User.id).where(col(User.roles).contains("admin"), User.is_active, User.id != excluding)
        ).all()
    )


def edit_version(user: User) -> str:
    """A fingerprint of what the user editor shows and changes (password included), taken when it opens.

    Passed back on save, it tells a later save from a stale editor apart: users have no version column.
    """
    raw = "\x1f".join([user.name, str(user.language), user.roles, str(bool(user.is_active)), user.password_hash or ""])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _locked_user(session: Session, user_id: int, seen_version: str | None) -> User:
    """The user's row, locked for this transaction and read fresh; Conflict when it changed since `seen_version`.

    The lock is a no-op UPDATE as the transaction's first statement: on PostgreSQL it takes the row lock, on
    SQLite the write lock (waiting for the busy timeout), so two admins saving the same user at once are
    checked one after the other and the second is told, instead of silently overwriting the first.
    """
    locked = session.exec(update(User).where(col(User.id) == user_id).values(id=User.id))
    if locked.rowcount != 1:
        raise NotFound()
    user = session.get(User, user_id, populate_existing=True)
    if user is None:
        raise NotFound()
    if seen_version is not None and edit_version(user) != seen_version:
        raise Conflict("err.user_changed", current=user, name=user.name)
    return user


def update_user(
    *, session: Session, actor: User, user_id: int, user_in: dict[str, Any], seen_version: str | None = None
) -> User:
    """Change a user's name, language, roles or active flag (admin only); the last admin stays an admin, and an
    admin cannot take their own admin role or deactivate themselves. With `seen_version` (edit_version() of
    what the editor showed) a change saved meanwhile by someone else is refused as a Conflict."""
    require_cap(actor, Cap.manage_users)
    data = {k: v for k, v in validate(UserUpdate, user_in).model_dump(exclude_unset=True).items() if v is not None}
    if "roles" in data or "is_active" in data:
        # The admins' rows first, in id order: two admins demoting each other at once are then checked one after
        # the other, so the "someone stays admin" rule cannot be passed by both (PostgreSQL; SQLite writes are
        # serialised anyway). The same order everywhere means no deadlock.
        session.exec(
            select(User.id).where(col(User.roles).contains("admin")).order_by(col(User.id)).with_for_update()
        ).all()
    user = _locked_user(session, user_id, seen_version)
    before = {"name": user.name, "language": user.language, "roles": user.roles, "is_active": user.is_active}
    if "roles" in data:
        data["roles"] = ",".join(sorted({Role(r).value for r in data["roles"]}))
    loses_admin = ("admin" not in data.get("roles", user.roles)) or data.get("is_active", True) is False
    if "admin" in user.roles and loses_admin and _remaining_admins(session, user.id or 0) == 0:
        raise NotAllowed("err.last_admin")
    if user.id == actor.id and loses_admin:
        # Another admin may exist, but locking oneself out by a slip of the mouse is never what was meant.
        raise NotAllowed("err.own_admin")
    for key, value in data.items():
        setattr(user, key, value)
    if user.is_active is False:
        revoke_all_sessions(session=session, user_id=user.id or 0)
    session.add(user)
    after = {"name": user.name, "language": user.language, "roles": user.roles, "is_active": user.is_active}
    audit.record(
        session=session,
        actor=actor,
        entity="user",
        entity_id=user.id or 0,
        action="update",
        changes=audit.diff(before, after),
    )
    session.flush()
    return user


def set_password(
    *, session: Session, actor: User, user_id: int, password: str, seen_version: str | None = None
) -> User:
    """Set another user's password (admin only); their open sessions end. With `seen_version`, a password or
    account changed meanwhile (another admin's reset at the same moment) is refused as a Conflict."""
    require_cap(actor, Cap.manage_users)
    check_password_strength(password)
    password_hash = hash_password(password)  # slow on purpose: done before the row is locked
    user = _locked_user(session, user_id, seen_version)
    user.password_hash = password_hash
    revoke_all_sessions(session=session, user_id=user.id or 0)
    session.add(user)
    audit.record(session=session, actor=actor, entity="user", entity_id=user.id or 0, action="set_password")
    session.flush()
    return user


def set_language(*, session: Session, actor: User, language: Language) -> User:
    """Change the signed-in user's own interface language (also for someone still waiting for a role)."""
    if actor is None or not actor.is_active:
        raise NotAllowed()
    user = session.get(User, actor.id)
    if user is None:
        raise NotFound()
    user.language = Language(language)
    session.add(user)
    session.flush()
    return user


def set_reminder_mode(*, session: Session, actor: User, mode: str) -> User:
    """Choose between a mail per reminder ("single") and one daily digest ("digest") for oneself."""
    require_cap(actor, Cap.use_app)
    if mode not in ("single", "digest"):
        raise ValidationError.single("reminder_mode", "err.choice_invalid")
    user = session.get(User, actor.id)
    if user is None:
        raise NotFound()
    before = user.reminder_mode
    user.reminder_mode = mode
    session.add(user)
    audit.record(
        session=session,
        actor=actor,
        entity="user",
        entity_id=user.id or 0,
        action="update",
        changes={"reminder_mode": [before, mode]},
    )
    session.flush()
    return user
