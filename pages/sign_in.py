"""Sign in with email and password (or the company's sign-on when configured)."""

import streamlit as st

from services.platform import auth
from services.platform.errors import AuthFailed
from ui.common import db, error_md, tr
from ui.frame import _oidc_configured, continue_signed_in

left, middle, right = st.columns([1, 2, 1])
with middle:
    st.title(tr("app.title"), anchor=False)
    st.caption(tr("app.tagline"))
    with st.form("signin_form", enter_to_submit=True):
        email = st.text_input(tr("field.email"), key="signin_email", max_chars=254, autocomplete="username")
        password = st.text_input(
            tr("field.password"), type="password", key="signin_password", max_chars=200, autocomplete="current-password"
        )
        submitted = st.form_submit_button(tr("signin.submit"), type="primary", width="stretch")
    if submitted:
        try:
            with db() as session:
                user, ticket = auth.sign_in(session=session, email=email, password=password)
        except AuthFailed as exc:
            st.error(error_md(exc), icon=":material/error:")
        else:
            continue_signed_in(user, ticket)
    if _oidc_configured():
        st.divider()
        st.button(tr("signin.company"), key="signin_oidc", on_click=st.login, icon=":material/badge:", width="stretch")
    st.caption(tr("signin.help"))
