"""Talent pool: candidates worth keeping, with a reason and a revisit date; search, re-engage, remove."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.common import utcnow
from services import followup
from ui.common import call, current_user, flash, fmt_dt, md_escape, row_table, show_flash, tr
from ui.drafts import review_draft

user = current_user()
st.title(tr("nav.talent_pool"), anchor=False)
show_flash()
c1, c2, c3 = st.columns(3)
q = c1.text_input(tr("pool.search_reason"), key="pool_q", max_chars=100, icon=":material/search:")
tag = c2.text_input(tr("field.tag"), key="pool_tag", max_chars=40)
families = call(followup.job_families, actor=user) or []
family = c3.selectbox(tr("pool.job_family"), ["", *families], key="pool_family",
                      format_func=lambda f: f or tr("common.all"))
rows = call(followup.search_pool, actor=user, q=q, tag=tag, job_family=family) or []
today = utcnow().date()
linked = st.query_params.get("candidate", "")
if not rows:
    st.info(tr("pool.empty"), icon=":material/bookmarks:")
else:
    frame = pd.DataFrame([
        {"cid": r["candidate"].id, tr("field.name"): r["candidate"].name, tr("pool.reason"): r["entry"].reason,
         tr("pool.job_family"): r["entry"].job_family, tr("field.tags"): ", ".join(r["tags"]),
         tr("pool.revisit_on"): r["entry"].revisit_on.isoformat() + (" !" if r["entry"].revisit_on <= today else ""),
         tr("pool.added_at"): fmt_dt(r["entry"].added_at)}
        for r in rows
    ])
    picked = row_table(frame, key="pool_table", ids=[r["candidate"].id for r in rows], column_config={"cid": None},
                       caption=tr("pool.click_to_act"))
    if picked:
        linked = str(picked)

chosen = next((r for r in rows if linked.isdigit() and r["candidate"].id == int(linked)), None)
if chosen is not None:
    cand = chosen["candidate"]
    st.subheader(md_escape(cand.name), anchor=False)
    st.caption(md_escape(" · ".join(x for x in [cand.email, cand.phone] if x)))
    a1, a2, a3 = st.columns(3)
    a1.page_link("pages/candidates.py", label=tr("fu.open_candidate"), icon=":material/person:",
                 query_params={"id": str(cand.id)})
    prepared = a2.button(tr("pool.reengage"), key="pool_reengage", icon=":material/forward_to_inbox:") and call(
        followup.prepare_reengagement_mail, actor=user, candidate_id=cand.id)
    removed = a3.button(tr("pool.remove"), key="pool_remove", icon=":material/bookmark_remove:") and call(
        followup.remove_from_pool, actor=user, candidate_id=cand.id)
    if removed:
        flash(tr("pool.removed"))
        st.rerun()
    if prepared:
        st.rerun()
    for draft in call(followup.pool_drafts, actor=user, candidate_id=cand.id) or []:
        review_draft(draft, user, tr("template.reengage"))
