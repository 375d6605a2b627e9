"""Staff accounts: only admins manage them, emails are unique, there is always an admin, and changes are audited."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from models.audit import AuditLog
from models.common import Language, Role
from models.user import AuthSession, User
from services import auth, users
from services.errors import NotAllowed, NotFound, ValidationError
from tests.factories import PASSWORD


def open_session(session: Session, user: User) -> str:
    token = auth.redeem_ticket(session=session, ticket=auth.issue_ticket(session=session, user=user))
    assert token
    return token


def audit_rows(session: Session, user_id: int) -> list[AuditLog]:
    return list(session.exec(
        select(AuditLog).where(AuditLog.entity == "user", AuditLog.entity_id == user_id).order_by(AuditLog.id)))


def test_admin_creates_a_user_with_roles_and_an_argon2_password(session, make) -> None:
    admin = make.admin()
    user = users.create_user(session=session, actor=admin, user_in={
        "email": "Zhou.Min@Example.com", "name": "周敏", "language": "en",
        "roles": ["recruiter", "interviewer", "recruiter"], "password": "Zhoumin-2026"})
    assert user.email == "zhou.min@example.com"
    assert user.roles == "interviewer,recruiter"
    assert user.language == Language.en
    assert user.password_hash.startswith("$argon2id$")
    assert auth.authenticate(session=session, email="zhou.min@example.com", password="Zhoumin-2026").id == user.id
    [row] = audit_rows(session, user.id)
    assert (row.action, row.user_id) == ("create", admin.id)
    assert json.loads(row.changes) == {"email": "zhou.min@example.com", "name": "周敏",
                                       "roles": "interviewer,recruiter"}


def test_a_user_created_without_a_password_can_only_sign_on_through_the_company(session, make) -> None:
    user = users.create_user(session=session, actor=make.admin(),
                             user_in={"email": "sso@example.com", "name": "SSO", "roles": ["interviewer"]})
    assert user.password_hash is None
    assert auth.sso_user(session=session, email="sso@example.com").id == user.id


@pytest.mark.parametrize("roles", ["recruiter", "hiring_manager", "interviewer", ""])
def test_only_an_admin_may_create_users(session, make, roles) -> None:
    actor = make.user(roles)
    with pytest.raises(NotAllowed):
        users.create_user(session=session, actor=actor,
                          user_in={"email": "x@example.com", "name": "X", "password": PASSWORD})
    assert session.exec(select(User).where(User.email == "x@example.com")).first() is None


def test_recruiter_cannot_change_users_or_set_passwords(session, make) -> None:
    recruiter = make.user("recruiter")
    target = make.user("interviewer")
    with pytest.raises(NotAllowed):
        users.update_user(session=session, actor=recruiter, user_id=target.id, user_in={"roles": ["admin"]})
    with pytest.raises(NotAllowed):
        users.set_password(session=session, actor=recruiter, user_id=target.id, password="Another-pass-1")
    assert session.get(User, target.id).roles == "interviewer"


def test_a_deactivated_admin_cannot_manage_users(session, make) -> None:
    with pytest.raises(NotAllowed):
        users.create_user(session=session, actor=make.admin(is_active=False),
                          user_in={"email": "x@example.com", "name": "X"})


def test_a_duplicate_email_is_refused_on_the_email_field_whatever_its_case(session, make) -> None:
    admin = make.admin()
    make.user(email="anna@example.com")
    with pytest.raises(ValidationError) as caught:
        users.create_user(session=session, actor=admin, user_in={"email": "ANNA@example.com", "name": "Anna 2"})
    assert caught.value.fields == {"email": ("err.email_taken", {})}


@pytest.mark.parametrize("email", ["anna", "anna@", "anna@example", "an na@example.com", "@example.com"])
def test_an_invalid_email_is_refused(session, make, email) -> None:
    with pytest.raises(ValidationError) as caught:
        users.create_user(session=session, actor=make.admin(), user_in={"email": email, "name": "Anna"})
    assert caught.value.fields["email"][0] == "err.email_invalid"


def test_an_empty_email_or_name_is_required(session, make) -> None:
    with pytest.raises(ValidationError) as caught:
        users.create_user(session=session, actor=make.admin(), user_in={"email": "  ", "name": "   "})
    assert caught.value.fields["email"][0] == "err.required"
    assert caught.value.fields["name"][0] == "err.required"


def test_a_weak_initial_password_is_refused_on_the_password_field(session, make) -> None:
    with pytest.raises(ValidationError) as caught:
        users.create_user(session=session, actor=make.admin(),
                          user_in={"email": "x@example.com", "name": "X", "password": "xxxxxxxxxxxx"})
    assert caught.value.fields["password"][0] == "err.password_weak"


def test_an_unknown_role_is_refused_on_the_roles_field(session, make) -> None:
    admin = make.admin()
    with pytest.raises(ValidationError) as caught:
        users.create_user(session=session, actor=admin,
                          user_in={"email": "x@example.com", "name": "X", "roles": ["boss"]})
    assert caught.value.fields["roles"][0] == "err.choice_invalid"
    target = make.user("interviewer")
    with pytest.raises(ValidationError):
        users.update_user(session=session, actor=admin, user_id=target.id, user_in={"roles": ["boss"]})


def test_removing_the_admin_role_from_the_last_admin_is_refused(session, make) -> None:
    admin = make.admin()
    with pytest.raises(NotAllowed) as caught:
        users.update_user(session=session, actor=admin, user_id=admin.id, user_in={"roles": ["recruiter"]})
    assert caught.value.key == "err.last_admin"
    session.expire_all()
    assert Role.admin in session.get(User, admin.id).role_set


def test_deactivating_the_last_admin_is_refused(session, make) -> None:
    admin = make.admin()
    with pytest.raises(NotAllowed) as caught:
        users.update_user(session=session, actor=admin, user_id=admin.id, user_in={"is_active": False})
    assert caught.value.key == "err.last_admin"
    session.expire_all()
    assert session.get(User, admin.id).is_active is True


def test_a_deactivated_admin_does_not_count_as_another_admin(session, make) -> None:
    admin = make.admin()
    make.admin(is_active=False)
    with pytest.raises(NotAllowed):
        users.update_user(session=session, actor=admin, user_id=admin.id, user_in={"roles": ["interviewer"]})


def test_an_admin_may_step_down_while_another_admin_remains(session, make) -> None:
    admin, other = make.admin(), make.admin()
    users.update_user(session=session, actor=admin, user_id=admin.id, user_in={"roles": ["recruiter"]})
    assert session.get(User, admin.id).role_set == {Role.recruiter}
    with pytest.raises(NotAllowed):
        users.update_user(session=session, actor=other, user_id=other.id, user_in={"is_active": False})


def test_the_last_admin_may_gain_roles_and_rename_themselves(session, make) -> None:
    admin = make.admin()
    users.update_user(session=session, actor=admin, user_id=admin.id,
                      user_in={"name": "王芳", "roles": ["admin", "hiring_manager"], "is_active": True})
    assert session.get(User, admin.id).role_set == {Role.admin, Role.hiring_manager}
    assert session.get(User, admin.id).name == "王芳"


def test_deactivating_a_user_revokes_their_sessions(session, make) -> None:
    admin = make.admin()
    target = make.user("recruiter")
    tokens = [open_session(session, target), open_session(session, target)]
    users.update_user(session=session, actor=admin, user_id=target.id, user_in={"is_active": False})
    rows = session.exec(select(AuthSession).where(AuthSession.user_id == target.id,
                                                  AuthSession.kind == "session")).all()
    assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)
    # Turning the account back on does not revive the old browser sessions.
    users.update_user(session=session, actor=admin, user_id=target.id, user_in={"is_active": True})
    assert [auth.user_for_session(session=session, token=t) for t in tokens] == [None, None]


def test_changing_a_user_records_old_and_new_values_in_the_audit_log(session, make) -> None:
    admin = make.admin()
    target = make.user("interviewer", name="Old Name")
    users.update_user(session=session, actor=admin, user_id=target.id,
                      user_in={"name": "New Name", "roles": ["interviewer", "hiring_manager"]})
    row = audit_rows(session, target.id)[-1]
    assert (row.action, row.user_id) == ("update", admin.id)
    assert json.loads(row.changes) == {"name": ["Old Name", "New Name"],
                                       "roles": ["interviewer", "hiring_manager,interviewer"]}


def test_changing_an_unknown_user_is_not_found(session, make) -> None:
    admin = make.admin()
    with pytest.raises(NotFound):
        users.update_user(session=session, actor=admin, user_id=9999, user_in={"name": "X"})
    with pytest.raises(NotFound):
        users.set_password(session=session, actor=admin, user_id=9999, password="Another-pass-1")


def test_an_admin_sets_a_password_which_ends_the_users_sessions(session, make) -> None:
    admin = make.admin()
    target = make.user("recruiter", email="anna@example.com")
    token = open_session(session, target)
    users.set_password(session=session, actor=admin, user_id=target.id, password="Another-pass-1")
    assert auth.user_for_session(session=session, token=token) is None
    assert auth.authenticate(session=session, email="anna@example.com", password="Another-pass-1").id == target.id
    assert audit_rows(session, target.id)[-1].action == "set_password"


def test_an_admin_cannot_set_a_weak_password(session, make) -> None:
    with pytest.raises(ValidationError) as caught:
        users.set_password(session=session, actor=make.admin(), user_id=make.user().id, password="short")
    assert caught.value.fields["password"][0] == "err.password_short"


def test_anyone_signed_in_changes_their_own_language(session, make) -> None:
    interviewer = make.user("interviewer", language="zh")
    other = make.user("interviewer", language="zh")
    users.set_language(session=session, actor=interviewer, language=Language.en)
    assert session.get(User, interviewer.id).language == Language.en
    assert session.get(User, other.id).language == Language.zh


def test_staff_list_users_by_role_and_active_flag(session, make) -> None:
    interviewer = make.user("interviewer", name="C Interviewer")
    manager = make.user("hiring_manager,interviewer", name="A Manager")
    make.user("hiring_manager", name="B Gone", is_active=False)
    managers = users.list_users(session=session, actor=interviewer, role=Role.hiring_manager)
    assert [u.name for u in managers] == ["A Manager", "B Gone"]
    active = users.list_users(session=session, actor=interviewer, role=Role.hiring_manager, active_only=True)
    assert [u.id for u in active] == [manager.id]
    assert len(users.list_users(session=session, actor=interviewer)) == 3


def test_a_signed_out_person_cannot_list_users(session, make) -> None:
    make.admin()
    with pytest.raises(NotAllowed):
        users.list_users(session=session, actor=None)
