"""The users page's editor, reached by picking a row: roles, password reset, deactivation, and a second save."""

from __future__ import annotations

from sqlmodel import select

from models.user import AuthSession, User
from services.platform import auth, db
from tests.pages.conftest import ROLE_EMAILS, demo_user
from tests.pages.support import all_text, assert_no_exception, element_after, submit, tr
from ui.common import table_key


def _pick(at, email: str):
    """Select the table row of `email` the way a click does (AppTest cannot click a dataframe row)."""
    rows = at.dataframe[0].value
    index = rows[tr("field.email", at.session_state["auth_user"].language)].tolist().index(email)
    key = table_key("users_table", [int(i) for i in rows["id"].tolist()])  # the key ui.common.row_table gives it
    at.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": [[index, "name"]]}}
    return at.run()


def _user(email: str) -> User:
    with db.session_scope() as session:
        return session.exec(select(User).where(User.email == email)).one()


def _open_users(language: str = "en"):
    from streamlit.testing.v1 import AppTest

    from tests.pages.conftest import APP, _default_language, signed_in_as

    admin = demo_user(ROLE_EMAILS["admin"], language)
    _default_language(language)
    at = AppTest.from_file(APP, default_timeout=30)
    signed_in_as(at, admin)
    at.run()
    at.switch_page("pages/users.py").run()
    assert_no_exception(at)
    return at


def test_picking_a_row_opens_the_editor_and_roles_are_saved_twice_without_losing_anything(demo_db):
    at = _open_users("en")
    _pick(at, "interviewer@example.com")
    assert_no_exception(at)
    assert at.multiselect(key="users_edit_roles").value == ["interviewer"]
    at.multiselect(key="users_edit_roles").set_value(["interviewer", "hiring_manager"])
    at.text_input(key="users_edit_name").input("Ivan Interviewer")
    submit(at, "users_edit_form")
    assert_no_exception(at)
    saved = _user("interviewer@example.com")
    assert saved.role_set == {"interviewer", "hiring_manager"} and saved.name == "Ivan Interviewer"
    assert tr("users.saved", "en", name="Ivan Interviewer") in all_text(at)

    # The second time: the editor starts from what was saved; adding a role keeps the earlier change.
    _pick(at, "interviewer@example.com")
    assert_no_exception(at)
    assert sorted(at.multiselect(key="users_edit_roles").value) == ["hiring_manager", "interviewer"]
    assert at.text_input(key="users_edit_name").value == "Ivan Interviewer"
    at.multiselect(key="users_edit_roles").set_value(["interviewer", "hiring_manager", "recruiter"])
    submit(at, "users_edit_form")
    assert_no_exception(at)
    saved = _user("interviewer@example.com")
    assert saved.role_set == {"interviewer", "hiring_manager", "recruiter"} and saved.name == "Ivan Interviewer"


def test_an_admin_resets_a_password_from_the_editor_and_the_users_sessions_end(demo_db):
    target = _user("recruiter@example.com")
    with db.session_scope() as session:
        ticket = auth.issue_ticket(session=session, user=target)
        token = auth.redeem_ticket(session=session, ticket=ticket)
    at = _open_users("zh")
    _pick(at, "recruiter@example.com")
    at.text_input(key="users_pw").input("aaaaaaaaaaaa")
    submit(at, "users_pw_form")
    assert_no_exception(at)
    assert element_after(at, "users_pw").value == tr("err.password_weak", "zh")

    at.text_input(key="users_pw").input("brand-new-pass-42")
    submit(at, "users_pw_form")
    assert_no_exception(at)
    assert tr("users.password_set", "zh") in all_text(at)
    with db.session_scope() as session:
        assert auth.user_for_session(session=session, token=token) is None
        assert (
            auth.authenticate(session=session, email="recruiter@example.com", password="brand-new-pass-42").id
            == target.id
        )


def test_an_admin_deactivates_a_user_and_activates_them_again(demo_db):
    at = _open_users("en")
    _pick(at, "manager@example.com")
    at.checkbox(key="users_edit_active").uncheck()
    submit(at, "users_edit_form")
    assert_no_exception(at)
    assert _user("manager@example.com").is_active is False
    _pick(at, "manager@example.com")
    assert at.checkbox(key="users_edit_active").value is False
    at.checkbox(key="users_edit_active").check()
    submit(at, "users_edit_form")
    assert_no_exception(at)
    manager = _user("manager@example.com")
    assert manager.is_active is True and manager.role_set == {"hiring_manager"}


def test_an_admin_cannot_remove_their_own_admin_role_or_deactivate_themselves(demo_db):
    # Alone, the admin is told they are the last one.
    at = _open_users("en")
    admin = _user("admin@example.com")
    _pick(at, "admin@example.com")
    at.checkbox(key="users_edit_active").uncheck()
    submit(at, "users_edit_form")
    assert_no_exception(at)
    assert tr("err.last_admin", "en") in all_text(at)
    # With another admin this is not the last-admin rule: still, an admin must not lock themselves out.
    with db.session_scope() as session:
        session.add(User(email="second.admin@example.com", name="Second Admin", roles="admin"))
        session.commit()
    at = _open_users("en")
    _pick(at, "admin@example.com")
    at.multiselect(key="users_edit_roles").set_value(["recruiter"])
    submit(at, "users_edit_form")
    assert_no_exception(at)
    assert tr("err.own_admin", "en") in all_text(at)
    assert _user("admin@example.com").role_set == admin.role_set

    at.multiselect(key="users_edit_roles").set_value(sorted(admin.role_set))
    at.checkbox(key="users_edit_active").uncheck()
    submit(at, "users_edit_form")
    assert_no_exception(at)
    assert tr("err.own_admin", "en") in all_text(at)
    assert _user("admin@example.com").is_active is True
    with db.session_scope() as session:
        assert [r.revoked_at for r in session.exec(select(AuthSession))] == [None, None]  # nobody signed out
