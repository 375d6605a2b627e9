"""Talent pool: candidates worth keeping, with a reason and a revisit date; search, re-engage, remove."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from models.common import utcnow
from services.follow_up import followup
from services.platform.config import get_settings
from services.platform.errors import ValidationError
from ui.common import (
    act,
    call,
    current_user,
    fmt_day,
    fmt_dt,
    md_escape,
    row_table,
    show_error,
    show_flash,
    tr,
)
from ui.drafts import review_draft

user = current_user()
st.title(tr("nav.talent_pool"), anchor=False)
show_flash()
c1, c2, c3 = st.columns(3)
q = c1.text_input(tr("pool.search_reason"), key="pool_q", max_chars=100, icon=":material/search:")
tag = c2.text_input(tr("field.tag"), key="pool_tag", max_chars=40)
families = call(followup.job_families, actor=user) or []
family = c3.selectbox(
    tr("pool.job_family"), ["", *families], key="pool_family", format_func=lambda f: f or tr("common.all")
)
PAGE = 200
total = call(followup.count_pool, actor=user, q=q, tag=tag, job_family=family) or 0
offset = min(st.session_state.get("pool_offset", 0), max(total - 1, 0) // PAGE * PAGE)
rows = call(followup.search_pool, actor=user, q=q, tag=tag, job_family=family, offset=offset, limit=PAGE) or []
today = utcnow().astimezone(get_settings().tz).date()
linked = st.query_params.get("candidate", "")
if not rows:
    st.info(tr("pool.empty"), icon=":material/bookmarks:")
else:
    frame = pd.DataFrame(
        [
            {
                "cid": r.candidate.id,
                tr("field.name"): r.candidate.name,
                tr("pool.reason"): r.entry.reason,
                tr("pool.job_family"): r.entry.job_family,
                tr("field.tags"): ", ".join(r.tags),
                tr("pool.revisit_on"): fmt_day(r.entry.revisit_on) + (" !" if r.entry.revisit_on <= today else ""),
                tr("pool.added_at"): fmt_dt(r.entry.added_at),
            }
            for r in rows
        ]
    )
    picked = row_table(
        frame,
        key="pool_table",
        ids=[r.candidate.id for r in rows],
        column_config={"cid": None},
        caption=tr("pool.click_to_act"),
    )
    if picked:
        linked = str(picked)
    if total > PAGE:
        st.caption(tr("pool.page", start=offset + 1, end=min(offset + PAGE, total), total=total))
        b1, b2, _ = st.columns([1, 1, 4])
        if b1.button(tr("common.prev"), key="pool_prev", disabled=offset <= 0, icon=":material/chevron_left:"):
            st.session_state["pool_offset"] = max(offset - PAGE, 0)
            st.rerun()
        if b2.button(
            tr("common.next"), key="pool_next", disabled=offset + PAGE >= total, icon=":material/chevron_right:"
        ):
            st.session_state["pool_offset"] = offset + PAGE
            st.rerun()

chosen = next((r for r in rows if linked.isdigit() and r.candidate.id == int(linked)), None)
if chosen is not None:
    cand = chosen.candidate
    st.subheader(md_escape(cand.name), anchor=False)
    st.text(" · ".join(x for x in [cand.email, cand.phone] if x))
    a1, a2, a3 = st.columns(3)
    a1.page_link(
        "pages/candidates.py",
        label=tr("fu.open_candidate"),
        icon=":material/person:",
        query_params={"id": str(cand.id)},
    )
    if a2.button(tr("pool.reengage"), key="pool_reengage", icon=":material/forward_to_inbox:"):
        act(followup.prepare_reengagement_mail, actor=user, candidate_id=cand.id)
    if a3.button(tr("pool.remove"), key="pool_remove", icon=":material/bookmark_remove:"):
        act(followup.remove_from_pool, actor=user, candidate_id=cand.id, done=tr("pool.removed"))
    for draft in call(followup.pool_drafts, actor=user, candidate_id=cand.id) or []:
        review_draft(draft, user, tr("template.reengage"))

# A candidate whose applications are all closed (rejected, withdrawn) — or who has none — is added here; one with an
# open application joins the pool by moving that application to the talent pool stage.
if st.session_state.pop("pool_add_done", False):  # emptied before its widgets exist, so the browser shows it empty
    st.session_state.update(pool_pick=None, pool_add_reason="", pool_add_family="")
with st.expander(
    tr("pool.add_someone"), icon=":material/person_add:", expanded=bool(st.session_state.get("pool_find"))
):
    find = st.text_input(tr("pool.find"), key="pool_find", max_chars=100, icon=":material/search:")
    offered = {c.id: c for c in call(followup.poolable_candidates, actor=user, q=find) or []}
    if not offered:
        st.info(tr("pool.none_to_add"), icon=":material/info:")
    else:
        if st.session_state.get("pool_pick") not in offered:
            st.session_state["pool_pick"] = None
        with st.form("pool_add_form"):
            picked_id = st.selectbox(
                tr("pool.pick"),
                list(offered),
                key="pool_pick",
                index=None,
                placeholder=tr("pool.pick_placeholder"),
                format_func=lambda i: " · ".join(
                    x for x in (offered[i].name, offered[i].email or offered[i].phone) if x
                ),
            )
            slot_pick = st.empty()
            reason = st.text_input(tr("pool.reason"), key="pool_add_reason", max_chars=1000)
            slot_reason = st.empty()
            p1, p2 = st.columns(2)
            family_in = p1.text_input(tr("pool.job_family"), key="pool_add_family", max_chars=60)
            revisit = p2.date_input(tr("pool.revisit_on"), key="pool_add_revisit", value=today + timedelta(days=90))
            slot_revisit = st.empty()
            added = st.form_submit_button(tr("pool.add"), type="primary", icon=":material/bookmark_add:")
        if added:
            where = {"candidate_id": slot_pick, "reason": slot_reason, "revisit_on": slot_revisit}

            def _added(_: object) -> None:
                st.session_state["pool_add_done"] = True
                st.query_params["candidate"] = str(picked_id)

            if picked_id is None:
                show_error(ValidationError.single("candidate_id", "err.required"), where)
            else:
                act(
                    followup.add_to_pool,
                    actor=user,
                    entry_in={
                        "candidate_id": picked_id,
                        "reason": reason,
                        "job_family": family_in,
                        "revisit_on": revisit,
                    },
                    where=where,
                    then=_added,
                    done=tr("pool.added"),
                )
