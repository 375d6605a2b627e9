"""Debrief of one application: every submitted scorecard side by side, averages against each round's bar,
disagreement flagged, who is missing; then the decision (and, for a rejection, the mail to review and send)."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st

from models.evaluation import DECISION_REASONS, DecisionKind, Recommendation
from services.evaluate import evaluation, scoring
from services.platform.policy import Cap
from ui.common import (
    act,
    call,
    can,
    current_user,
    fmt_dt,
    lang,
    md_escape,
    show_flash,
    stage_label,
    tr,
    tr_md,
    trn,
)
from ui.drafts import review_draft

user = current_user()
raw = st.query_params.get("application", "")
if not raw.isdigit():
    st.info(tr("db.pick_application"), icon=":material/groups:")
    st.stop()
application_id = int(raw)
data = call(evaluation.debrief, actor=user, application_id=application_id)
if data is None:
    # Refused (most often: your own scorecard is not in yet) — show the way back to one's interviews.
    st.page_link("pages/interviews.py", label=tr("iv.back"), icon=":material/arrow_back:")
    st.stop()
app, cand, job = data.application, data.candidate, data.job
zh = lang() == "zh"
if can(Cap.view_candidates):
    st.page_link(
        "pages/candidates.py",
        label=tr("db.back_to_candidate"),
        icon=":material/arrow_back:",
        query_params={"id": str(cand.id)},
    )
else:  # an interviewer has no candidates page: back to their interviews
    st.page_link("pages/interviews.py", label=tr("iv.back"), icon=":material/arrow_back:")
st.title(tr_md("db.title", name=cand.name), anchor=False)
st.caption(f"{md_escape(job.title)} · {tr('field.stage')}: {stage_label(app.stage)}")
show_flash()

if not data.rounds:
    st.info(tr("db.no_interviews"), icon=":material/event_busy:")
for rd in data.rounds:
    rnd = rd.round
    with st.container(border=True):
        st.subheader(md_escape(rnd.name_zh if zh else rnd.name_en), anchor=False)
        m1, m2, m3 = st.columns(3)
        m1.metric(tr("db.average"), f"{rd.average:.2f}" if rd.average is not None else "—")
        m2.metric(tr("db.bar"), f"{rnd.bar:.1f}")
        verdict = {True: tr("db.meets_bar"), False: tr("db.below_bar"), None: "—"}[rd.meets_bar]
        m3.metric(tr("db.verdict"), verdict)
        for key in rd.disagreement:
            st.warning(tr(key), icon=":material/warning:")
        if rd.pending:
            st.info(tr_md("db.pending", names=", ".join(rd.pending)), icon=":material/hourglass_top:")
        if rd.hidden:
            key = "db.hidden_submit_first" if rd.hidden_reason == "err.submit_first" else "db.hidden_not_on_panel"
            st.info(trn(key, rd.hidden, count=rd.hidden), icon=":material/visibility_off:")
        if not rd.cards:
            continue

        def _cell(value: object) -> str:
            return "" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)

        table = []
        for crit in rd.criteria:
            row = {tr("db.criterion"): f"{crit.name_zh if zh else crit.name_en} (×{crit.weight:g})"}
            for c in rd.cards:
                row[c.interviewer] = _cell(c.scores.get(crit.id))
            spread = rd.spread.get(crit.id)
            alert = spread is not None and spread >= scoring.SPREAD_ALERT
            row[tr("db.spread")] = _cell(spread) + (" !" if alert else "")
            table.append(row)
        weighted = {tr("db.criterion"): tr("db.weighted"), tr("db.spread"): ""}
        recs = {tr("db.criterion"): tr("sc.recommendation"), tr("db.spread"): ""}
        for c in rd.cards:
            weighted[c.interviewer] = _cell(c.weighted)
            recs[c.interviewer] = tr(f"rec.{c.scorecard.recommendation}")
        table += [weighted, recs]
        st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", key=f"db_table_{rnd.id}")
        for c in rd.cards:
            card = c.scorecard
            with st.expander(
                f"{md_escape(c.interviewer)} · {tr(f'rec.{card.recommendation}')} · {fmt_dt(card.submitted_at)}"
            ):
                # What interviewers wrote is text, never Markdown (a link or image in it would act on the reader).
                st.markdown(f"**{tr('sc.strengths')}**")
                st.text(card.strengths or "—")
                st.markdown(f"**{tr('sc.weaknesses')}**")
                st.text(card.weaknesses or "—")
                if card.comments:
                    st.markdown(f"**{tr('sc.comments')}**")
                    st.text(card.comments)
                for crit in rd.criteria:
                    note = c.notes.get(crit.id)
                    if note:
                        st.text(f"{crit.name_zh if zh else crit.name_en}: {note}")

if data.decisions:
    st.subheader(tr("db.decisions"), anchor=False)
    for decision, who in data.decisions:
        text = f": {md_escape(decision.reason_text)}" if decision.reason_text else ""
        st.markdown(
            f"- **{tr(f'decision.{decision.kind}')}** · {tr(f'reason.{decision.reason_code}')}{text} · "
            f"{md_escape(who)} · {fmt_dt(decision.at)}"
        )

for draft in data.drafts:
    review_draft(draft, user, tr("db.draft_title"))

if data.can_decide and app.stage in ("interviewing", "decision_pending", "offer"):
    st.subheader(tr("db.decide"), anchor=False)
    # Nothing is chosen for the decider: the scorecards' recommendations are shown beside the choice instead.
    said = Counter(c.scorecard.recommendation for rd in data.rounds for c in rd.cards if c.scorecard.recommendation)
    if said:
        st.caption(
            tr(
                "db.suggested",
                recommendations=", ".join(
                    f"{tr(f'rec.{rec}')} ×{said[rec]}" for rec in [r.value for r in Recommendation] if rec in said
                ),
            )
        )
    kind = st.segmented_control(
        tr("db.decision"),
        [k.value for k in DecisionKind],
        key="db_kind",
        format_func=lambda k: tr(f"decision.{k}"),
        default=None,
    )
    if not kind:
        st.caption(tr("db.pick_decision"))
    if kind:
        with st.form("db_decision_form"):
            reason = st.selectbox(
                tr("field.reason"),
                DECISION_REASONS[DecisionKind(kind)],
                key=f"db_reason_{kind}",
                format_func=lambda r: tr(f"reason.{r}"),
            )
            text = st.text_area(tr("db.reason_text"), key="db_reason_text", max_chars=2000, height=80)
            slot = st.empty()
            decide = st.form_submit_button(tr("db.record"), type="primary", icon=":material/gavel:")
        if decide:
            act(
                evaluation.record_decision,
                actor=user,
                application_id=application_id,
                decision_in={"kind": kind, "reason_code": reason, "reason_text": text},
                from_stage=app.stage,
                where={"__all__": slot, "reason_text": slot, "reason_code": slot},
                done=tr("db.recorded", decision=tr(f"decision.{kind}")),
            )
