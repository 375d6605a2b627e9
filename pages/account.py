"""My account: language, reminders, the weekly metrics digest (for those who may read metrics) and password."""

from __future__ import annotations

import streamlit as st

from services.metrics import digest
from services.platform import auth, users
from services.platform.errors import DomainError, ValidationError
from services.platform.policy import Cap
from ui.common import USER_KEY, call, can, current_user, db, md_escape, role_label, show_error, tr
from ui.frame import continue_signed_in

user = current_user()
st.title(tr("nav.account"), anchor=False)
st.markdown(f"**{md_escape(user.name)}**")
st.text(user.email)
st.caption(" · ".join(role_label(r) for r in sorted(user.role_set)))
st.caption(tr("account.language_hint"))

st.subheader(tr("account.reminders"), anchor=False)
modes = {"single": tr("account.reminder_single"), "digest": tr("account.reminder_digest")}
mode = st.radio(
    tr("account.reminders"),
    list(modes),
    index=list(modes).index(user.reminder_mode),
    format_func=modes.get,
    key="account_reminder_mode",
    horizontal=True,
    label_visibility="collapsed",
)
if mode != user.reminder_mode:
    saved = call(users.set_reminder_mode, actor=user, mode=mode)
    if saved is not None:
        st.session_state[USER_KEY] = saved
        st.success(tr("account.reminders_saved"), icon=":material/check_circle:")

if can(Cap.view_metrics):
    st.subheader(tr("account.metrics_digest"), anchor=False)
    wanted = st.toggle(
        tr("account.metrics_digest_toggle"),
        value=user.metrics_digest,
        key="account_metrics_digest",
        help=tr("account.metrics_digest_help"),
    )
    if wanted != user.metrics_digest:
        chosen = call(digest.set_metrics_digest, actor=user, enabled=wanted)
        if chosen is not None:
            st.session_state[USER_KEY] = chosen
            st.success(
                tr("account.metrics_digest_on" if chosen.metrics_digest else "account.metrics_digest_off"),
                icon=":material/check_circle:",
            )

st.subheader(tr("account.change_password"), anchor=False)
with st.form("account_pw_form", clear_on_submit=False):
    old = st.text_input(tr("account.old_password"), type="password", key="account_old", max_chars=200)
    slot_old = st.empty()
    new = st.text_input(
        tr("account.new_password"), type="password", key="account_new", max_chars=200, help=tr("help.password")
    )
    slot_new = st.empty()
    repeat = st.text_input(tr("field.password_repeat"), type="password", key="account_new2", max_chars=200)
    slot_repeat = st.empty()
    submitted = st.form_submit_button(tr("account.change_password"), type="primary", icon=":material/key:")
if submitted:
    try:
        if new != repeat:
            raise ValidationError.single("password_repeat", "err.password_mismatch")
        with db() as session:
            ticket = auth.change_password(session=session, user=user, old_password=old, new_password=new)
    except DomainError as exc:
        show_error(exc, {"old_password": slot_old, "password": slot_new, "password_repeat": slot_repeat})
    else:
        st.success(tr("account.password_changed"), icon=":material/check_circle:")
        # Every session was revoked, this browser's too: trade the new ticket for a fresh cookie.
        continue_signed_in(user, ticket)
