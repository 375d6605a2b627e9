"""Review, edit and send (or discard) a prepared mail draft: shared by debrief, follow-up, talent pool, outbox and the
offer letter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from models.mail import OutboxMessage
from models.user import User
from services.mail import outbox as mail
from services.platform.errors import Conflict
from ui.common import act, show_error, tr

# The send action: called as send_with(session=…, actor=…, message_id=…, subject=…, text=…, version=…).
SendWith = Callable[..., Any]


def review_draft(
    draft: OutboxMessage,
    user: User,
    title: str,
    *,
    send_with: SendWith = mail.send_draft,
    key: str = "draft",
    sent: str | None = None,
) -> None:
    """A box with the draft's subject and text to edit, and Save / Send / Discard.

    The box remembers the version of the draft it started from: when someone else saved, sent or discarded the
    draft meanwhile (another tab, a colleague), the action is refused and what was typed stays. `send_with` does the
    send (a service that sends the draft and moves what it belongs to, e.g. the offer letter), `key` starts the
    widgets' keys and `sent` is the message once sent (default "sent")."""
    base_key = f"{key}_version_{draft.id}"
    st.session_state.setdefault(base_key, draft.version)
    with st.container(border=True):
        st.text(f"{title} → {draft.to_addrs}")
        st.caption(tr("db.draft_hint"))
        with st.form(f"{key}_{draft.id}"):
            subject = st.text_input(
                tr("field.subject"), value=draft.subject, max_chars=300, key=f"{key}_subject_{draft.id}"
            )
            slot_subject = st.empty()
            body = st.text_area(
                tr("field.body"), value=draft.text, height=260, max_chars=50_000, key=f"{key}_body_{draft.id}"
            )
            slot_body = st.empty()
            slot_all = st.empty()
            b1, b2, b3, _ = st.columns([1, 1, 1, 2])
            send = b1.form_submit_button(tr("db.send"), type="primary", icon=":material/send:")
            save = b2.form_submit_button(tr("db.save"), icon=":material/save:")
            discard = b3.form_submit_button(tr("db.discard"), icon=":material/delete:")
        if not (send or save or discard):
            return
        version = st.session_state[base_key]
        # Discarding loses the text for good: the first press asks, a second press discards; anything else between
        # (a save, a send) forgets the question.
        asked = f"{key}_discard_asked_{draft.id}"
        if discard and not st.session_state.pop(asked, False):
            st.session_state[asked] = True
            slot_all.warning(tr("db.discard_confirm"), icon=":material/warning:")
            return
        if not discard:
            st.session_state.pop(asked, None)

        def _conflict(exc: Conflict) -> None:
            show_error(exc, {"__all__": slot_all})
            # Pressing again now acts on the latest version of the mail, with what is typed (a send service may
            # also refuse for what the mail belongs to: that has no mail version).
            if isinstance(exc.current, OutboxMessage):
                st.session_state[base_key] = exc.current.version

        where = {"subject": slot_subject, "body": slot_body, "__all__": slot_all}
        if send:
            act(
                send_with,
                actor=user,
                message_id=draft.id,
                subject=subject,
                text=body,
                version=version,
                where=where,
                on={Conflict: _conflict},
                done=sent or tr("db.sent"),
            )
        elif save:
            act(
                mail.save_draft,
                actor=user,
                message_id=draft.id,
                subject=subject,
                text=body,
                version=version,
                where=where,
                on={Conflict: _conflict},
                done=tr("db.saved"),
                then=lambda saved: st.session_state.update({base_key: saved.version}),
            )
        else:
            act(
                mail.discard_draft,
                actor=user,
                message_id=draft.id,
                version=version,
                where=where,
                on={Conflict: _conflict},
                done=tr("db.discarded"),
            )
