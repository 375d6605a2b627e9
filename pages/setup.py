"""First start: create the first admin account."""

import streamlit as st

from services.platform import auth
from services.platform.errors import DomainError, ValidationError
from ui.common import db, show_validation, tr
from ui.frame import continue_signed_in

left, middle, right = st.columns([1, 2, 1])
with middle:
    st.title(tr("setup.title"), anchor=False)
    st.info(tr("setup.intro"), icon=":material/waving_hand:")
    with st.form("setup_form"):
        name = st.text_input(tr("field.name"), key="setup_name", max_chars=100)
        slot_name = st.empty()
        email = st.text_input(tr("field.email"), key="setup_email", max_chars=254)
        slot_email = st.empty()
        password = st.text_input(
            tr("field.password"), type="password", key="setup_password", max_chars=200, help=tr("help.password")
        )
        slot_password = st.empty()
        repeat = st.text_input(tr("field.password_repeat"), type="password", key="setup_password2", max_chars=200)
        slot_repeat = st.empty()
        language = st.radio(
            tr("field.language"),
            ["zh", "en"],
            key="setup_language",
            horizontal=True,
            format_func=lambda c: {"zh": "简体中文", "en": "English"}[c],
        )
        submitted = st.form_submit_button(tr("setup.submit"), type="primary", width="stretch")
    if submitted:
        slots = {"name": slot_name, "email": slot_email, "password": slot_password, "password_repeat": slot_repeat}
        try:
            if password != repeat:
                raise ValidationError.single("password_repeat", "err.password_mismatch")
            with db() as session:
                user = auth.create_first_admin(
                    session=session, user_in={"name": name, "email": email, "password": password, "language": language}
                )
                ticket = auth.issue_ticket(session=session, user=user)
        except ValidationError as exc:
            show_validation(exc, slots)
        except DomainError as exc:  # an admin was created meanwhile
            st.error(tr(exc.key), icon=":material/error:")
        else:
            continue_signed_in(user, ticket)
