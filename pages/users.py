"""Users (admin): create accounts, set roles and language, reset passwords, deactivate."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.common import Role
from services.platform import users
from services.platform.errors import Conflict
from services.platform.policy import Cap
from ui.common import (
    act,
    call,
    can,
    current_user,
    fmt_dt,
    role_label,
    row_table,
    show_error,
    show_flash,
    tr,
    tr_md,
)

user = current_user()
if not can(Cap.manage_users):
    # The account list is open to all staff in the service (to pick owners); this screen is for admins only.
    st.error(tr("err.not_allowed"), icon=":material/lock:")
    st.stop()
st.title(tr("nav.users"), anchor=False)
show_flash()
ROLES = [r.value for r in Role]

accounts = call(users.list_users, actor=user) or []
frame = pd.DataFrame(
    [
        {
            "id": u.id,
            tr("field.name"): u.name,
            tr("field.email"): u.email,
            tr("field.roles"): ", ".join(role_label(r) for r in sorted(u.role_set)) or tr("role.none"),
            tr("field.language"): {"zh": "中文", "en": "English"}.get(u.language, u.language),
            tr("field.is_active"): tr("common.yes") if u.is_active else tr("common.no"),
            tr("users.last_login"): fmt_dt(u.last_login_at),
        }
        for u in accounts
    ]
)
picked = row_table(
    frame,
    key="users_table",
    ids=[u.id for u in accounts],
    column_config={"id": None},
    caption=tr("users.click_to_edit"),
)


def _load_editor(account) -> None:  # models.user.User
    """Fill the editor from `account` as saved; the roles as plain values, the options' own type."""
    st.session_state.update(
        users_edit_id=account.id,
        users_edit_name=account.name,
        users_edit_roles=sorted(r.value for r in account.role_set),
        users_edit_language=str(account.language),
        users_edit_active=account.is_active,
        users_edit_version=users.edit_version(account),
    )


if picked:
    target = next(u for u in accounts if u.id == picked)
    if st.session_state.get("users_edit_id") != target.id:
        _load_editor(target)
    st.subheader(tr_md("users.edit", name=target.name), anchor=False)
    with st.form("users_edit_form"):
        st.text_input(tr("field.name"), key="users_edit_name", max_chars=100)
        slot_name = st.empty()
        st.multiselect(
            tr("field.roles"),
            ROLES,
            key="users_edit_roles",
            format_func=role_label,
            placeholder=tr("common.choose_many"),
            select_all=False,
        )
        st.radio(
            tr("field.language"),
            ["zh", "en"],
            key="users_edit_language",
            horizontal=True,
            format_func=lambda c: {"zh": "中文", "en": "English"}[c],
        )
        st.checkbox(tr("field.is_active"), key="users_edit_active")
        slot_all = st.empty()
        if st.form_submit_button(tr("common.save"), type="primary", icon=":material/save:"):

            def _conflict(exc: Conflict) -> None:
                # Saved meanwhile by someone else: show what is saved now instead of overwriting it.
                st.session_state["users_flash_error"] = exc
                st.session_state.pop("users_edit_id", None)
                st.rerun()

            act(
                users.update_user,
                actor=user,
                user_id=target.id,
                user_in={
                    "name": st.session_state["users_edit_name"],
                    "roles": st.session_state["users_edit_roles"],
                    "language": st.session_state["users_edit_language"],
                    "is_active": st.session_state["users_edit_active"],
                },
                seen_version=st.session_state.get("users_edit_version"),
                where={"name": slot_name, "__all__": slot_all},
                on={Conflict: _conflict},
                then=lambda _: st.session_state.pop("users_edit_id", None),
                done=tr_md("users.saved", name=st.session_state["users_edit_name"]),
            )
    if "users_flash_error" in st.session_state:
        show_error(st.session_state.pop("users_flash_error"))
    with st.form("users_pw_form", clear_on_submit=True):
        new_pw = st.text_input(
            tr("users.new_password"), type="password", key="users_pw", max_chars=200, help=tr("help.password")
        )
        slot_pw = st.empty()
        if st.form_submit_button(tr("users.set_password"), icon=":material/key:"):
            changed = act(
                users.set_password,
                actor=user,
                user_id=target.id,
                password=new_pw,
                seen_version=st.session_state.get("users_edit_version"),
                where={"password": slot_pw},
                rerun=False,
            )
            if changed is not None:
                # What the editor above was opened from now includes the new password.
                st.session_state["users_edit_version"] = users.edit_version(changed)
                st.success(tr("users.password_set"), icon=":material/check_circle:")

st.subheader(tr("users.new"), anchor=False)
with st.form("users_new_form"):
    c1, c2 = st.columns(2)
    name = c1.text_input(tr("field.name"), key="users_new_name", max_chars=100)
    slot_name = c1.empty()
    email = c2.text_input(tr("field.email"), key="users_new_email", max_chars=254)
    slot_email = c2.empty()
    roles = c1.multiselect(
        tr("field.roles"),
        ROLES,
        key="users_new_roles",
        format_func=role_label,
        placeholder=tr("common.choose_many"),
        select_all=False,
    )
    language = c2.radio(
        tr("field.language"),
        ["zh", "en"],
        key="users_new_language",
        horizontal=True,
        format_func=lambda c: {"zh": "中文", "en": "English"}[c],
    )
    password = st.text_input(
        tr("users.initial_password"),
        type="password",
        key="users_new_password",
        max_chars=200,
        help=tr("help.initial_password"),
    )
    slot_password = st.empty()
    submitted = st.form_submit_button(tr("users.create"), type="primary", icon=":material/person_add:")
if submitted:

    def _created(_: object) -> None:
        for key in ("users_new_name", "users_new_email", "users_new_roles", "users_new_password"):
            st.session_state.pop(key, None)

    act(
        users.create_user,
        actor=user,
        user_in={"name": name, "email": email, "roles": roles, "language": language, "password": password or None},
        where={"name": slot_name, "email": slot_email, "password": slot_password},
        then=_created,
        done=lambda created: tr_md("users.created", name=created.name),
    )
