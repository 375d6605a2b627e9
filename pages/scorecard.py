"""The scorecard of one interview: rate each criterion with its levels in view, strengths, weaknesses, a
recommendation; save a draft or submit (which locks it; a later change needs a reason)."""

from __future__ import annotations

import streamlit as st

from models.evaluation import Recommendation, ScorecardStatus
from services.evaluate import evaluation
from ui.common import (
    act,
    call,
    current_user,
    fmt_clock,
    fmt_dt,
    lang,
    md_escape,
    show_flash,
    tr,
    tr_md,
)

user = current_user()
raw = st.query_params.get("interview", "")
st.page_link("pages/interviews.py", label=tr("iv.back"), icon=":material/arrow_back:")
if not raw.isdigit():
    st.info(tr("sc.pick_interview"), icon=":material/rate_review:")
    st.stop()
interview_id = int(raw)
ctx = call(evaluation.open_scorecard, actor=user, interview_id=interview_id)
if ctx is None:
    st.stop()
iv, cand, job, rnd = ctx.interview, ctx.candidate, ctx.job, ctx.round
card, ratings, criteria = ctx.scorecard, ctx.ratings, ctx.criteria
zh = lang() == "zh"
prefix = f"sc_{interview_id}"

st.title(tr_md("sc.title", name=cand.name), anchor=False)
show_flash()
with st.container(border=True):
    c1, c2, c3 = st.columns(3)
    c1.markdown(f"**{tr('field.job')}**  \n{md_escape(job.title)}")
    c2.markdown(f"**{tr('iv.round')}**  \n{md_escape(rnd.name_zh if zh else rnd.name_en)}")
    c3.markdown(f"**{tr('iv.when')}**  \n{fmt_dt(iv.starts_at)}–{fmt_clock(iv.ends_at)} · {tr(f'iv_mode.{iv.mode}')}")
    contact = " · ".join(x for x in [cand.email, cand.phone] if x)
    st.caption(f"{md_escape(contact)} · {tr('iv.panel')}: {md_escape(', '.join(ctx.panel))}")

submitted = card is not None and card.status == ScorecardStatus.submitted
if submitted:
    st.success(tr("sc.submitted_at", when=fmt_dt(card.submitted_at)), icon=":material/lock:")
elif card is not None:
    st.info(tr("sc.draft_at", when=fmt_dt(card.updated_at)), icon=":material/edit_note:")

# Load the saved values into the widgets once per scorecard version (what is being typed is never overwritten).
loaded = (card.id, card.version) if card else None
if st.session_state.get(f"{prefix}_loaded") != loaded or f"{prefix}_rec" not in st.session_state:
    for crit in criteria:
        saved = ratings.get(crit.id)
        st.session_state[f"{prefix}_r{crit.id}"] = saved.rating if saved else None
        st.session_state[f"{prefix}_n{crit.id}"] = saved.note if saved else ""
    for name in ("strengths", "weaknesses", "comments"):
        st.session_state[f"{prefix}_{name}"] = getattr(card, name) if card else ""
    st.session_state[f"{prefix}_rec"] = card.recommendation if card else None
    st.session_state[f"{prefix}_loaded"] = loaded
    st.session_state[f"{prefix}_version"] = card.version if card else None

LEVELS = [1, 2, 3, 4, 5]
with st.form(f"{prefix}_form"):
    slots = {}
    for crit in criteria:
        name = crit.name_zh if zh else crit.name_en
        st.markdown(f"**{md_escape(name)}** · {tr('sc.weight', weight=f'{crit.weight:g}')}")
        levels = [
            (1, crit.level1_zh if zh else crit.level1_en),
            (3, crit.level3_zh if zh else crit.level3_en),
            (5, crit.level5_zh if zh else crit.level5_en),
        ]
        st.caption("  \n".join(f"**{n}** — {md_escape(text)}" for n, text in levels if text))
        r1, r2 = st.columns([2, 3])
        r1.segmented_control(tr("sc.rating"), LEVELS, key=f"{prefix}_r{crit.id}", label_visibility="collapsed")
        r2.text_input(
            tr("sc.note"),
            key=f"{prefix}_n{crit.id}",
            max_chars=2000,
            placeholder=tr("sc.note_hint"),
            label_visibility="collapsed",
        )
        slots[f"rating_{crit.id}"] = st.empty()
    st.divider()
    st.text_area(tr("sc.strengths"), key=f"{prefix}_strengths", max_chars=5000, height=90)
    slots["strengths"] = st.empty()
    st.text_area(tr("sc.weaknesses"), key=f"{prefix}_weaknesses", max_chars=5000, height=90)
    slots["weaknesses"] = st.empty()
    st.segmented_control(
        tr("sc.recommendation"),
        [r.value for r in Recommendation],
        key=f"{prefix}_rec",
        format_func=lambda r: tr(f"rec.{r}"),
    )
    slots["recommendation"] = st.empty()
    st.text_area(tr("sc.comments"), key=f"{prefix}_comments", max_chars=5000, height=70)
    slots["comments"] = st.empty()
    if submitted:
        st.text_input(tr("sc.change_reason"), key=f"{prefix}_reason", max_chars=1000, help=tr("help.change_reason"))
        slots["change_reason"] = st.empty()
        b1, _ = st.columns([1, 3])
        save = b1.form_submit_button(tr("sc.save_change"), type="primary", icon=":material/save_as:")
        submit = False
    else:
        b1, b2, _ = st.columns([1, 1, 2])
        save = b1.form_submit_button(tr("sc.save_draft"), icon=":material/save:")
        submit = b2.form_submit_button(tr("sc.submit"), type="primary", icon=":material/send:")
    slots["__all__"] = st.empty()

if save or submit:
    data = {
        "ratings": [
            {
                "criterion_id": c.id,
                "rating": st.session_state.get(f"{prefix}_r{c.id}"),
                "note": st.session_state.get(f"{prefix}_n{c.id}", ""),
            }
            for c in criteria
        ],
        "strengths": st.session_state[f"{prefix}_strengths"],
        "weaknesses": st.session_state[f"{prefix}_weaknesses"],
        "comments": st.session_state[f"{prefix}_comments"],
        "recommendation": st.session_state[f"{prefix}_rec"],
    }
    act(
        evaluation.save_scorecard,
        actor=user,
        interview_id=interview_id,
        scorecard_in=data,
        submit=submit,
        version=st.session_state[f"{prefix}_version"],
        change_reason=st.session_state.get(f"{prefix}_reason", ""),
        where=slots,
        then=lambda _: st.session_state.pop(f"{prefix}_loaded", None),
        done=tr("sc.submitted") if submit else tr("sc.saved_change") if submitted else tr("sc.draft_saved"),
    )

if submitted:
    st.page_link(
        "pages/debrief.py",
        label=tr("sc.see_panel"),
        icon=":material/groups:",
        query_params={"application": str(iv.application_id)},
    )
else:
    st.caption(tr("sc.independence"))
