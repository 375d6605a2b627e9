"""My account: language and password."""

from __future__ import annotations

import streamlit as st

from services import auth
from services.errors import ValidationError
from ui.common import current_user, db, role_label, show_validation, tr

user = current_user()
st.title(tr("nav.account"), anchor=False)
st.markdown(f"**{user.name}** · {user.email}")
st.caption(" · ".join(role_label(r) for r in sorted(user.role_set)))
st.caption(tr("account.language_hint"))

st.subheader(tr("account.change_password"), anchor=False)
with st.form("account_pw_form", clear_on_submit=False):
    old = st.text_input(tr("account.old_password"), type="password", key="account_old", max_chars=200)
    slot_old = st.empty()
    new = st.text_input(tr("account.new_password"), type="password", key="account_new", max_chars=200,
                        help=tr("help.password"))
    slot_new = st.empty()
    repeat = st.text_input(tr("field.password_repeat"), type="password", key="account_new2", max_chars=200)
    slot_repeat = st.empty()
    submitted = st.form_submit_button(tr("account.change_password"), type="primary", icon=":material/key:")
if submitted:
    try:
        if new != repeat:
            raise ValidationError.single("password_repeat", "err.password_mismatch")
        with db() as session:
            auth.change_password(session=session, user=user, old_password=old, new_password=new)
    except ValidationError as exc:
        show_validation(exc, {"old_password": slot_old, "password": slot_new, "password_repeat": slot_repeat})
    else:
        st.success(tr("account.password_changed"), icon=":material/check_circle:")
