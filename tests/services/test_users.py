"""Staff accounts: only admins manage them, emails are unique, there is always an admin, and changes are audited."""

from __future__ import annotations

import json
import threading

import pytest
from sqlmodel import Session, select

from models.audit import AuditLog
from models.common import Language, Role
from models.user import AuthSession, User
from services.platform import auth, users
from services.platform.errors import Conflict, NotAllowed, NotFound, ValidationError
from tests.factories import PASSWORD, action


def open_session(session: Session, user: User) -> str:
    token = auth.redeem_ticket(session=session, ticket=auth.issue_ticket(session=session, user=user))
    assert token
    return token


def audit_rows(session: Session, user_id: int) -> list[AuditLog]:
    return list(
        session.exec(
            select(AuditLog).where(AuditLog.entity == "user", AuditLog.entity_id == user_id).order_by(AuditLog.id)
        )
    )


def test_admin_creates_a_user_with_roles_and_an_argon2_password(session, make) -> None:
    admin = make.admin()
    user = users.create_user(
        session=session,
        actor=admin,
        user_in={
            "email": "Zhou.Min@Example.com",
            "name": "周敏",
            "language": "en",
            "roles": ["recruiter", "interviewer", "recruiter"],
            "password": "Zhoumin-2026",
        },
    )
    assert user.email == "zhou.min@example.com"
    assert user.roles == "interviewer,recruiter"
    assert user.language == Language.en
    assert user.password_hash.startswith("$argon2id$")
    assert auth.authenticate(session=session, email="zhou.min@example.com", password="Zhoumin-2026").id == user.id
    [row] = audit_rows(session, user.id)
    assert (row.action, row.user_id) == ("create", admin.id)
    assert json.loads(row.changes) == {
        "email": "zhou.min@example.com",
        "name": "周敏",
        "roles": "interviewer,recruiter",
    }


def test_a_user_created_without_a_password_can_only_sign_on_through_the_company(session, make) -> None:
    user = users.create_user(
        session=session,
        actor=make.admin(),
        user_in={"email": "sso@example.com", "name": "SSO", "roles": ["interviewer"]},
    )
    assert user.password_hash is None
    assert auth.sso_user(session=session, email="sso@example.com").id == user.id


@pytest.mark.parametrize("roles", ["recruiter", "hiring_manager", "interviewer", ""])
def test_only_an_admin_may_create_users(session, make, roles) -> None:
    actor = make.user(roles)
    with pytest.raises(NotAllowed):
        users.create_user(
            session=session, actor=actor, user_in={"email": "x@example.com", "name": "X", "password": PASSWORD}
        )
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
        users.create_user(
            session=session, actor=make.admin(is_active=False), user_in={"email": "x@example.com", "name": "X"}
        )


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
        users.create_user(
            session=session,
            actor=make.admin(),
            user_in={"email": "x@example.com", "name": "X", "password": "xxxxxxxxxxxx"},
        )
    assert caught.value.fields["password"][0] == "err.password_weak"


def test_an_unknown_role_is_refused_on_the_roles_field(session, make) -> None:
    admin = make.admin()
    with pytest.raises(ValidationError) as caught:
        users.create_user(
            session=session, actor=admin, user_in={"email": "x@example.com", "name": "X", "roles": ["boss"]}
        )
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


def test_another_admin_may_demote_an_admin_while_one_admin_remains(session, make) -> None:
    admin, other = make.admin(), make.admin()
    users.update_user(session=session, actor=other, user_id=admin.id, user_in={"roles": ["recruiter"]})
    assert session.get(User, admin.id).role_set == {Role.recruiter}
    with pytest.raises(NotAllowed):
        users.update_user(session=session, actor=other, user_id=other.id, user_in={"is_active": False})


@pytest.mark.parametrize("change", [{"roles": ["recruiter"]}, {"roles": []}, {"is_active": False}])
def test_an_admin_cannot_lock_themselves_out_even_with_another_admin_left(session, make, change) -> None:
    admin, _other = make.admin(), make.admin()
    with pytest.raises(NotAllowed) as caught:
        users.update_user(session=session, actor=admin, user_id=admin.id, user_in=change)
    assert caught.value.key == "err.own_admin"
    session.expire_all()
    fresh = session.get(User, admin.id)
    assert Role.admin in fresh.role_set and fresh.is_active


def test_the_last_admin_may_gain_roles_and_rename_themselves(session, make) -> None:
    admin = make.admin()
    users.update_user(
        session=session,
        actor=admin,
        user_id=admin.id,
        user_in={"name": "王芳", "roles": ["admin", "hiring_manager"], "is_active": True},
    )
    assert session.get(User, admin.id).role_set == {Role.admin, Role.hiring_manager}
    assert session.get(User, admin.id).name == "王芳"


def test_deactivating_a_user_revokes_their_sessions(session, make) -> None:
    admin = make.admin()
    target = make.user("recruiter")
    tokens = [open_session(session, target), open_session(session, target)]
    users.update_user(session=session, actor=admin, user_id=target.id, user_in={"is_active": False})
    rows = session.exec(
        select(AuthSession).where(AuthSession.user_id == target.id, AuthSession.kind == "session")
    ).all()
    assert len(rows) == 2 and all(r.revoked_at is not None for r in rows)
    # Turning the account back on does not revive the old browser sessions.
    users.update_user(session=session, actor=admin, user_id=target.id, user_in={"is_active": True})
    assert [auth.user_for_session(session=session, token=t) for t in tokens] == [None, None]


def test_changing_a_user_records_old_and_new_values_in_the_audit_log(session, make) -> None:
    admin = make.admin()
    target = make.user("interviewer", name="Old Name")
    users.update_user(
        session=session,
        actor=admin,
        user_id=target.id,
        user_in={"name": "New Name", "roles": ["interviewer", "hiring_manager"]},
    )
    row = audit_rows(session, target.id)[-1]
    assert (row.action, row.user_id) == ("update", admin.id)
    assert json.loads(row.changes) == {
        "name": ["Old Name", "New Name"],
        "roles": ["interviewer", "hiring_manager,interviewer"],
    }


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


def test_a_save_from_an_editor_opened_before_another_admins_change_is_refused_as_a_conflict(session, make) -> None:
    first_admin, second_admin = make.admin(), make.admin()
    target = make.user("interviewer")
    seen = users.edit_version(target)  # both editors opened on the same saved state
    users.update_user(
        session=session,
        actor=first_admin,
        user_id=target.id,
        user_in={"roles": ["interviewer", "hiring_manager"]},
        seen_version=seen,
    )
    with pytest.raises(Conflict) as caught:
        users.update_user(
            session=session,
            actor=second_admin,
            user_id=target.id,
            user_in={"roles": ["interviewer", "recruiter"]},
            seen_version=seen,
        )
    assert caught.value.key == "err.user_changed"
    session.expire_all()
    assert session.get(User, target.id).role_set == {Role.interviewer, Role.hiring_manager}
    # From the fresh state the second admin's change goes through and keeps the first one's.
    fresh = session.get(User, target.id)
    users.update_user(
        session=session,
        actor=second_admin,
        user_id=target.id,
        user_in={"roles": ["interviewer", "hiring_manager", "recruiter"]},
        seen_version=users.edit_version(fresh),
    )
    assert session.get(User, target.id).role_set == {Role.interviewer, Role.hiring_manager, Role.recruiter}


def test_a_password_reset_after_another_admins_reset_is_refused_as_a_conflict(session, make) -> None:
    first_admin, second_admin = make.admin(), make.admin()
    target = make.user("recruiter", email="anna@example.com")
    seen = users.edit_version(target)
    users.set_password(
        session=session, actor=first_admin, user_id=target.id, password="First-pass-11", seen_version=seen
    )
    with pytest.raises(Conflict):
        users.set_password(
            session=session, actor=second_admin, user_id=target.id, password="Second-pass-22", seen_version=seen
        )
    assert auth.authenticate(session=session, email="anna@example.com", password="First-pass-11").id == target.id


def _at_once(engine, calls) -> list[object]:
    """Run each call with its own Session in its own thread, all released by one barrier; their outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            with action(engine) as own:
                outcomes[i] = calls[i](own)
        except Exception as exc:  # the outcome under test
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_two_admins_resetting_one_password_at_the_same_moment_one_wins_the_other_is_told(engine, make) -> None:
    first_admin, second_admin = make.admin(), make.admin()
    target = make.user("recruiter", email="anna@example.com")
    seen = users.edit_version(target)
    passwords = ["First-pass-11", "Second-pass-22"]
    outcomes = _at_once(
        engine,
        [
            lambda s, a=admin, p=pw: users.set_password(
                session=s, actor=a, user_id=target.id, password=p, seen_version=seen
            )
            for admin, pw in zip([first_admin, second_admin], passwords, strict=True)
        ],
    )
    won = [i for i, o in enumerate(outcomes) if isinstance(o, User)]
    lost = [o for o in outcomes if not isinstance(o, User)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], Conflict) and lost[0].key == "err.user_changed"
    with Session(engine) as fresh:
        assert auth.authenticate(session=fresh, email="anna@example.com", password=passwords[won[0]]).id == target.id


def test_two_admins_saving_one_user_at_the_same_moment_one_wins_the_other_is_told(engine, make) -> None:
    first_admin, second_admin = make.admin(), make.admin()
    target = make.user("interviewer")
    seen = users.edit_version(target)
    changes = [["interviewer", "hiring_manager"], ["interviewer", "recruiter"]]
    outcomes = _at_once(
        engine,
        [
            lambda s, a=admin, r=roles: users.update_user(
                session=s, actor=a, user_id=target.id, user_in={"roles": r}, seen_version=seen
            )
            for admin, roles in zip([first_admin, second_admin], changes, strict=True)
        ],
    )
    won = [i for i, o in enumerate(outcomes) if isinstance(o, User)]
    assert len(won) == 1, outcomes
    assert [type(o) for o in outcomes if not isinstance(o, User)] == [Conflict]
    with Session(engine) as fresh:
        assert fresh.get(User, target.id).role_set == set(changes[won[0]])


def test_two_admins_demoting_each_other_at_the_same_moment_leave_one_admin(engine, make) -> None:
    for _ in range(5):  # a race: tried a few times
        first, second = make.admin(), make.admin()
        outcomes = _at_once(
            engine,
            [
                lambda s, a=first, b=second: users.update_user(
                    session=s, actor=a, user_id=b.id, user_in={"roles": ["recruiter"]}
                ),
                lambda s, a=second, b=first: users.update_user(
                    session=s, actor=a, user_id=b.id, user_in={"roles": ["recruiter"]}
                ),
            ],
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["NotAllowed", "User"], outcomes
        with Session(engine) as fresh:
            assert not auth.needs_first_admin(session=fresh)
            # The next round's two new admins are then the only ones.
            for user in fresh.exec(select(User).where(User.id.in_([first.id, second.id]))):
                user.roles = "recruiter"
                fresh.add(user)
            fresh.commit()
