"""Retention rules (admins) and a candidate's keep-until date, hold and erasure (their page's Privacy tab)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from services.pipeline.candidates import CandidateDetail
from services.platform.config import get_settings
from services.platform.policy import Cap
from services.privacy import retention
from ui.common import act, call, can, current_user, fmt_day, row_table, tr, tr_md


def _today() -> date:
    return datetime.now(get_settings().tz).date()


def _rule_text(rule: str) -> str:
    """Why the date is what it is."""
    return {
        "open": tr("retention.rule.open"),
        "not_hired": tr("retention.rule.not_hired"),
        "hired": tr("retention.rule.hired"),
        "pool": tr("retention.rule.pool"),
        "hold": tr("retention.rule.hold"),
        "anonymised": tr("retention.rule.anonymised"),
    }.get(rule, rule)


# --------------------------------------------------------------------------- the Privacy page's retention tab
def retention_section() -> None:
    """The Privacy page's retention tab: the rules form and who falls due within 30 days."""
    user = current_user()
    rules = call(retention.retention_rules, actor=user)
    if rules is None:
        return
    st.subheader(tr("retention.rules_title"), anchor=False)
    st.caption(tr("retention.rules_hint"))
    with st.form("ret_rules_form"):
        slots: dict[str, Any] = {}
        values: dict[str, str] = {}
        for field, label, current in (
            ("not_hired_months", tr("retention.not_hired_months"), rules.not_hired_months),
            ("hired_months", tr("retention.hired_months"), rules.hired_months),
            ("pool_months", tr("retention.pool_months"), rules.pool_months),
        ):
            values[field] = st.text_input(label, value=str(current), key=f"ret_rules_{field}", max_chars=10)
            slots[field] = st.empty()
        saved = st.form_submit_button(tr("common.save"), type="primary", icon=":material/save:")
    if saved:
        act(
            retention.save_rules,
            actor=user,
            not_hired_months=values["not_hired_months"],
            hired_months=values["hired_months"],
            pool_months=values["pool_months"],
            where=slots,
            done=tr("retention.rules_saved"),
        )

    st.subheader(tr("retention.due_title"), anchor=False)
    due = call(retention.due_soon, actor=user) or []
    if not due:
        st.info(tr("retention.due_none"), icon=":material/event_available:")
        return
    table = pd.DataFrame(
        {
            tr("retention.col_name"): [row.name for row in due],
            tr("retention.col_keep_until"): [fmt_day(retention.last_day(row.keep_until)) for row in due],
            tr("retention.col_why"): [_rule_text(row.rule) for row in due],
        }
    )
    picked = row_table(table, key="ret_due", ids=[row.candidate_id for row in due], caption=tr("retention.due_click"))
    if picked is not None:
        st.switch_page("pages/candidates.py", query_params={"id": str(picked)})


# --------------------------------------------------------------------------- the candidate's Privacy tab
def candidate_retention(detail: CandidateDetail) -> None:
    """The candidate page's keep-until date (and the rule behind it), "keep longer, because…" and "erase now"."""
    if not can(Cap.manage_privacy):
        return
    user = current_user()
    cid = detail.candidate.id or 0
    info = call(retention.candidate_retention, actor=user, candidate_id=cid)
    if info is None:
        return
    st.subheader(tr("retention.title"), anchor=False)
    if info.keep_until is not None:
        st.markdown(tr_md("retention.keep_until", date=fmt_day(retention.last_day(info.keep_until))))
        st.caption(_rule_text(info.rule))
    else:
        st.info(_rule_text(info.rule), icon=":material/hourglass_empty:")
    if info.hold_until is not None:
        st.markdown(tr_md("retention.held_until", date=fmt_day(retention.last_day(info.hold_until))))
        st.text(info.hold_reason)  # typed by an admin: data, never markup
        if st.button(tr("retention.clear_hold"), key=f"ret_unhold_{cid}", icon=":material/lock_open:"):
            act(retention.clear_hold, actor=user, candidate_id=cid, done=tr("retention.hold_cleared"))

    with st.expander(tr("retention.hold_title"), icon=":material/lock_clock:"):
        with st.form(f"ret_hold_form_{cid}"):
            until = st.date_input(
                tr("retention.hold_until"), value=_today() + timedelta(days=180), key=f"ret_hold_until_{cid}"
            )
            slots = {"until": st.empty()}
            reason = st.text_area(tr("retention.hold_reason"), key=f"ret_hold_reason_{cid}", max_chars=1000)
            slots["reason"] = st.empty()
            held = st.form_submit_button(tr("retention.hold_save"), icon=":material/save:")
        if held:
            act(
                retention.set_hold,
                actor=user,
                candidate_id=cid,
                until=until,
                reason=reason,
                where=slots,
                done=tr("retention.hold_saved"),
            )

    with st.expander(tr("retention.erase_title"), icon=":material/delete_forever:"):
        st.caption(tr("retention.erase_hint"))
        reason = st.text_area(tr("retention.erase_reason"), key=f"ret_erase_reason_{cid}", max_chars=1000)
        where = {"reason": st.empty(), "__all__": st.empty()}
        confirmed = False
        if info.open_offer or info.running_plan:
            lost = [tr("retention.lost_offer")] if info.open_offer else []
            lost += [tr("retention.lost_plan")] if info.running_plan else []
            st.warning(
                tr("retention.erase_loses") + "\n\n" + "\n".join(f"- {x}" for x in lost), icon=":material/warning:"
            )
            confirmed = st.checkbox(tr("retention.erase_confirm"), key=f"ret_erase_confirm_{cid}")
        if st.button(
            tr("retention.erase_now"), key=f"ret_erase_{cid}", type="primary", icon=":material/delete_forever:"
        ):

            def _gone(_: object) -> None:
                st.session_state["cand_selected"] = None
                st.query_params.pop("id", None)

            act(
                retention.erase_now,
                actor=user,
                candidate_id=cid,
                reason=reason,
                confirmed=confirmed,
                where=where,
                then=_gone,
                done=tr("retention.erased", n=cid),
            )
