"""Review, edit and send (or discard) a prepared mail draft: shared by debrief, follow-up and talent pool."""

from __future__ import annotations

import streamlit as st

from models.mail import OutboxMessage
from models.user import User
from services import mail
from services.errors import DomainError
from ui.common import db, flash, md_escape, show_error, tr


def review_draft(draft: OutboxMessage, user: User, title: str) -> None:
    """A box with the draft's subject and text to edit, and Send / Discard."""
    with st.container(border=True):
        st.markdown(f"**{title}** → {md_escape(draft.to_addrs)}")
        st.caption(tr("db.draft_hint"))
        with st.form(f"draft_{draft.id}"):
            subject = st.text_input(tr("field.subject"), value=draft.subject, max_chars=300,
                                    key=f"draft_subject_{draft.id}")
            slot_subject = st.empty()
            body = st.text_area(tr("field.body"), value=draft.text, height=260, max_chars=50_000,
                                key=f"draft_body_{draft.id}")
            slot_body = st.empty()
            b1, b2, _ = st.columns([1, 1, 3])
            send = b1.form_submit_button(tr("db.send"), type="primary", icon=":material/send:")
            discard = b2.form_submit_button(tr("db.discard"), icon=":material/delete:")
        if not (send or discard):
            return
        try:
            with db() as session:
                if send:
                    mail.send_draft(session=session, actor=user, message_id=draft.id, subject=subject, text=body)
                else:
                    mail.discard_draft(session=session, actor=user, message_id=draft.id)
        except DomainError as exc:
            show_error(exc, {"subject": slot_subject, "body": slot_body})
        else:
            flash(tr("db.sent") if send else tr("db.discarded"))
            st.rerun()
