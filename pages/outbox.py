"""Outbox (admin, recruiter): every message's fate; preview, retry a failed one, cancel a queued one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.common import utcnow
from models.mail import MailStatus
from services.mail import outbox as mail
from services.platform.config import get_settings
from services.platform.policy import Cap
from ui.common import (
    act,
    call,
    can,
    current_user,
    fmt_dt,
    fmt_num,
    md_escape,
    row_table,
    show_flash,
    tr,
    tr_md,
)
from ui.drafts import review_draft

WORKER_STALE_MINUTES = 5  # a worker passes every few seconds, a minute apart at most while backing off

user = current_user()
st.title(tr("nav.outbox"), anchor=False)
show_flash()
settings = get_settings()
if settings.mail_configured:
    st.caption(
        tr("outbox.server", host=settings.smtp_host, port=settings.smtp_port_effective, security=settings.smtp_security)
    )
else:
    st.warning(tr("outbox.no_server"), icon=":material/pause_circle:")

# When a worker last ran: with none running, queued mail and reminders silently wait.
beats = call(mail.worker_heartbeats, actor=user) or []
if not beats:
    st.warning(tr("outbox.worker_none"), icon=":material/engineering:")
else:
    newest = beats[0]
    age_minutes = int((utcnow() - newest.last_pass_at).total_seconds() // 60)
    if age_minutes >= WORKER_STALE_MINUTES:
        st.warning(
            tr_md("outbox.worker_stale", plural_n=age_minutes, when=fmt_dt(newest.last_pass_at), minutes=age_minutes),
            icon=":material/engineering:",
        )
    else:
        st.caption(
            tr_md(
                "outbox.worker_last",
                when=fmt_dt(newest.last_pass_at),
                name=newest.name,
                count=len([b for b in beats if (utcnow() - b.last_pass_at).total_seconds() < 600]),
            )
        )
    if newest.last_error:
        st.warning(tr_md("outbox.worker_error", error=newest.last_error[:300]), icon=":material/error:")

# Drafts to my candidates (a rejection prepared by a decision, say) wait here until someone reviews them; My tasks
# links each one here (?draft=<id>).
linked_draft = st.query_params.get("draft", "")
waiting = call(mail.drafts_waiting_for, actor=user) or []
if waiting:
    st.subheader(tr("outbox.drafts_for_me") + f" ({len(waiting)})", anchor=False)
    for draft in waiting[:20]:
        with st.expander(
            f"{md_escape(draft.subject)} → {md_escape(draft.to_addrs)}",
            expanded=str(draft.id) == linked_draft or len(waiting) == 1,
            icon=":material/edit_note:",
        ):
            review_draft(draft, user, tr(f"template.{draft.template}") if draft.template else tr("field.subject"))
    st.divider()
if linked_draft and linked_draft not in {str(d.id) for d in waiting}:
    st.info(tr("outbox.draft_gone"), icon=":material/info:")

status = st.segmented_control(
    tr("field.status"), [s.value for s in MailStatus], key="outbox_status", format_func=lambda s: tr(f"mail_status.{s}")
)
page = st.session_state.get("outbox_page", 1)
listed = call(mail.list_outbox, actor=user, status=status, page=page)
if listed is None:
    st.stop()
rows, counts = listed
cols = st.columns(len(counts))
for col, (name, count) in zip(cols, counts.items(), strict=True):
    col.metric(tr(f"mail_status.{name}"), f"{fmt_num(mail.COUNT_CAP)}+" if count > mail.COUNT_CAP else fmt_num(count))

if not rows:
    st.info(tr("outbox.empty"), icon=":material/inbox:")
else:
    frame = pd.DataFrame(
        [
            {
                "id": m.id,
                tr("outbox.created"): fmt_dt(m.created_at),
                tr("outbox.to"): m.to_addrs.replace(",", ", "),
                tr("outbox.subject"): m.subject,
                tr("field.status"): tr(f"mail_status.{m.status}"),
                tr("outbox.attempts"): m.attempts,
                tr("outbox.next_attempt"): fmt_dt(m.next_attempt_at) if m.status == MailStatus.queued else "",
                tr("outbox.sent_at"): fmt_dt(m.sent_at),
                tr("outbox.last_error"): m.last_error[:200],
            }
            for m in rows
        ]
    )
    picked = row_table(
        frame,
        key="outbox_table",
        ids=[m.id for m in rows],
        column_config={"id": None},
        caption=tr("outbox.click_to_preview"),
    )
    p1, p2, _ = st.columns([1, 1, 4])
    if p1.button(tr("common.prev"), key="outbox_prev", disabled=page <= 1, icon=":material/chevron_left:"):
        st.session_state["outbox_page"] = page - 1
        st.rerun()
    if p2.button(tr("common.next"), key="outbox_next", disabled=len(rows) < 50, icon=":material/chevron_right:"):
        st.session_state["outbox_page"] = page + 1
        st.rerun()
    if picked:
        found = call(mail.get_message, actor=user, message_id=picked)
        if found is not None:
            message, attachments = found
            with st.container(border=True):
                st.text(message.subject)
                st.caption(
                    tr_md(
                        "outbox.headers",
                        to=message.to_addrs.replace(",", ", "),
                        cc=message.cc_addrs.replace(",", ", ") or "—",
                        message_id=message.message_id,
                    )
                )
                if message.last_error:
                    st.error(tr_md("outbox.error", error=message.last_error), icon=":material/error:")
                if attachments:
                    st.caption(tr_md("outbox.attachments", names=", ".join(a.filename for a in attachments)))
                # Sanitised (DOMPurify) rather than an iframe: mail bodies may carry what people typed.
                with st.container(height=420, border=True):
                    st.html(message.html)
                with st.expander(tr("outbox.plain_text")):
                    st.text(message.text)
                if message.status == MailStatus.draft and message.id in {d.id for d in waiting[:20]}:
                    # One draft, one editor: two forms for it would clash (and could save over each other).
                    st.info(tr("outbox.draft_above"), icon=":material/arrow_upward:")
                elif message.status == MailStatus.draft:
                    review_draft(
                        message, user, tr(f"template.{message.template}") if message.template else tr("field.subject")
                    )
                b1, b2, _ = st.columns([1, 1, 3])
                if message.status in (MailStatus.failed, MailStatus.cancelled) and b1.button(
                    tr("outbox.retry"), key="outbox_retry", icon=":material/replay:"
                ):
                    act(mail.retry_message, actor=user, message_id=message.id, done=tr("outbox.retried"))
                if message.status in (MailStatus.queued, MailStatus.held) and b2.button(
                    tr("outbox.cancel"), key="outbox_cancel", icon=":material/cancel:"
                ):
                    act(mail.cancel_message, actor=user, message_id=message.id, done=tr("outbox.cancelled"))

if can(Cap.mail_test):
    with st.expander(tr("outbox.test_title"), icon=":material/forward_to_inbox:"), st.form("outbox_test_form"):
        to = st.text_input(tr("outbox.to"), value=user.email, key="outbox_test_to", max_chars=254)
        slot = st.empty()
        if st.form_submit_button(tr("outbox.test_send"), icon=":material/send:"):
            act(mail.queue_test_message, actor=user, to=to, where={"to": slot}, done=tr_md("outbox.test_queued", to=to))
