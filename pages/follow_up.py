"""Follow-up board: word within 24 hours after every interview, contacts, intent and competing offers, risk,
mail from templates; one place to act on each candidate."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from models.common import Role, utcnow
from models.followup import Channel, Direction, Outcome
from services.follow_up import followup, followup_state
from services.platform import users
from services.platform.config import get_settings
from services.platform.errors import Conflict
from services.platform.policy import sees_every_owner
from ui.common import (
    act,
    call,
    current_user,
    db,
    fmt_day,
    fmt_dt,
    fmt_num,
    md_escape,
    row_table,
    show_error,
    show_flash,
    stage_label,
    tr,
)
from ui.drafts import review_draft

user = current_user()
settings = get_settings()
tz = settings.tz
now = utcnow()
st.title(tr("nav.follow_up"), anchor=False)
show_flash()


def _first_pages() -> None:
    """Another owner's board starts at its first pages (a later page of the last one may not exist in theirs)."""
    st.session_state.pop("fu_offset", None)
    st.session_state.pop("fu_run_offset", None)


owner_id = None
if sees_every_owner(user):
    with db() as session:
        recruiters = {
            u.id: u.name for u in users.list_users(session=session, actor=user, role=Role.recruiter, active_only=True)
        }
    owner_id = st.selectbox(
        tr("field.owner_id"),
        [None, *recruiters],
        key="fu_owner",
        format_func=lambda i: recruiters.get(i, "") if i else tr("common.all"),
        placeholder=tr("common.all"),
        on_change=_first_pages,
    )
offset = st.session_state.get("fu_offset", 0)
running_offset = st.session_state.get("fu_run_offset", 0)
linked_app = st.query_params.get("application", "")
linked_cand = st.query_params.get("candidate", "")
# A link (My tasks, a mail, a row picked on a later page) opens its application wherever it is on the board.
board = (
    call(
        followup.follow_up_board,
        actor=user,
        now=now,
        owner_id=owner_id,
        offset=offset,
        limit=followup.BOARD_PAGE,
        focus_application=int(linked_app) if linked_app.isdigit() else None,
        focus_candidate=int(linked_cand) if linked_cand.isdigit() and not linked_app else None,
        running_offset=running_offset,
    )
    or []
)
others, running = getattr(board, "others", 0), getattr(board, "running", 0)

STATES = list(followup_state.STATES)
counts = {s: sum(1 for r in board if r.state == s) for s in STATES}
counts["awaiting_feedback"] = running  # every one, on this page or not


def _left(row: followup.BoardRow) -> str:
    left = row.time_left(now)
    if left is None:
        return ""
    hours = int(abs(left.total_seconds()) // 3600)
    minutes = int(abs(left.total_seconds()) % 3600 // 60)
    return tr("fu.overdue_by", h=hours, m=minutes) if left.total_seconds() < 0 else tr("fu.left", h=hours, m=minutes)


state = st.segmented_control(
    tr("fu.state"),
    STATES,
    key="fu_state",
    default="awaiting_feedback",
    format_func=lambda s: f"{tr(f'fu_state.{s}')} ({counts[s]})",
)
if others > followup.BOARD_PAGE or running > followup.BOARD_PAGE:
    # Waiting for feedback counts every such candidate; the other columns count the page shown.
    st.caption(tr("fu.counts_this_page"))
shown = [r for r in board if r.state == state] if state else board
if not state:  # the chosen state clicked again: every column at once, said so (a browser trial found it unclear)
    st.caption(tr("fu.all_states"))

if not shown:
    st.info(tr("fu.none"), icon=":material/task_alt:")
else:
    frame = pd.DataFrame(
        [
            {
                "app": r.application_id,
                tr("field.name"): r.candidate,
                tr("field.job"): r.job,
                tr("field.stage"): stage_label(r.stage),
                tr("fu.deadline"): _left(r),
                tr("fu.last_contact"): fmt_dt(r.last_contact),
                tr("fu.outcome"): tr(f"outcome.{r.last_outcome}") if r.last_outcome else "",
                tr("fu.mail"): tr(f"fu.mail_{r.mail_problem}") if r.mail_problem else "",
                tr("fu.interest"): f"{r.interest}/5" if r.interest else "",
                tr("fu.risks"): "；".join(tr(k) for k in r.risks),
                tr("field.owner_id"): r.owner,
            }
            for r in shown
        ]
    )

    def _overdue_style(value: object) -> str:
        return (
            "color: #c53030; font-weight: 600"
            if isinstance(value, str) and value.startswith(tr("fu.overdue_prefix"))
            else ""
        )

    def _follow(application_id: int | None) -> None:
        """A row clicked: the panel follows that application by its id, kept in the address, so that it stays with
        the candidate when the board changes (after a contact is logged, they move to another column)."""
        st.query_params.pop("candidate", None)
        if application_id:
            st.query_params["application"] = str(application_id)
        else:
            st.query_params.pop("application", None)

    row_table(
        frame.style.map(_overdue_style, subset=[tr("fu.deadline")]),
        key="fu_table",
        ids=[r.application_id for r in shown],
        column_config={"app": None},
        on_pick=_follow,
        caption=tr("fu.click_to_act"),
    )


def _pager(label: str, key: str, at: int, total: int) -> None:
    """Previous / next for one part of the board (`key` holds its offset in the session)."""
    st.caption(tr(label, start=at + 1, end=min(at + followup.BOARD_PAGE, total), total=total))
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button(tr("common.prev"), key=f"{key}_prev", disabled=at <= 0, icon=":material/chevron_left:"):
        st.session_state[key] = max(at - followup.BOARD_PAGE, 0)
        st.rerun()
    if b2.button(
        tr("common.next"),
        key=f"{key}_next",
        disabled=at + followup.BOARD_PAGE >= total,
        icon=":material/chevron_right:",
    ):
        st.session_state[key] = at + followup.BOARD_PAGE
        st.rerun()


# Those awaiting feedback and the others come a page at a time each, so a backlog of overdue feedback never
# pushes the candidates at risk off the first page.
if state in (None, "awaiting_feedback") and running > followup.BOARD_PAGE:
    _pager("fu.running_page", "fu_run_offset", running_offset, running)
if state != "awaiting_feedback" and others > followup.BOARD_PAGE:
    _pager("fu.others_page", "fu_offset", offset, others)

current = getattr(board, "focus", None)
if current is None and (linked_app or linked_cand):
    st.info(tr("fu.not_on_board"), icon=":material/info:")
if current is None:
    st.stop()

st.divider()
st.subheader(f"{md_escape(current.candidate)} · {md_escape(current.job)}", anchor=False)
st.page_link(
    "pages/candidates.py",
    label=tr("fu.open_candidate"),
    icon=":material/person:",
    query_params={"id": str(current.candidate_id)},
)
for key in current.risks:
    st.warning(tr(key), icon=":material/warning:")
if current.clock_running:
    st.error(tr("fu.clock", left=_left(current), deadline=fmt_dt(current.deadline)), icon=":material/timer:")
if current.mail_problem:
    st.warning(tr(f"fu.mail_{current.mail_problem}") + " — " + tr("fu.mail_problem_hint"), icon=":material/mail:")

# Keyed and tracked: an unkeyed tab set is a new one whenever a message above it comes or goes (a flash, the
# clock), and the browser would jump back to the first tab in the middle of writing a mail.
contact_tab, intent_tab, mail_tab, pool_tab = st.tabs(
    [tr("fu.tab_contact"), tr("fu.tab_intent"), tr("fu.tab_mail"), tr("fu.tab_pool")], key="fu_tabs", on_change="rerun"
)
with contact_tab:
    # Not clear_on_submit: after a message the rest of what was typed must stay. Once logged, the form is emptied
    # here, before its widgets, so that the browser shows it empty too (the time of day may stay).
    if st.session_state.pop("fu_contact_logged", False):
        st.session_state.update(
            fu_channel=list(Channel)[0].value,
            fu_direction=list(Direction)[0].value,
            fu_outcome=list(Outcome)[0].value,
            fu_summary="",
            fu_next_day=None,
        )
    with st.form(f"fu_contact_{current.application_id}"):
        c1, c2, c3 = st.columns(3)
        channel = c1.selectbox(
            tr("fu.channel"), [c.value for c in Channel], key="fu_channel", format_func=lambda c: tr(f"channel.{c}")
        )
        direction = c2.selectbox(
            tr("fu.direction"),
            [d.value for d in Direction],
            key="fu_direction",
            format_func=lambda d: tr(f"direction.{d}"),
        )
        outcome = c3.selectbox(
            tr("fu.outcome"), [o.value for o in Outcome], key="fu_outcome", format_func=lambda o: tr(f"outcome.{o}")
        )
        summary = st.text_area(tr("fu.summary"), key="fu_summary", max_chars=5000, height=90)
        slot_summary = st.empty()
        d1, d2 = st.columns(2)
        # No min_value: Streamlit silently turns a date below it into "none" (a page left open past midnight);
        # the service refuses a past date with a message instead.
        next_day = d1.date_input(tr("fu.next_contact"), value=None, key="fu_next_day")
        next_time = d2.time_input(tr("fu.next_time"), value=time(10, 0), key="fu_next_time", step=1800)
        slot_next = st.empty()
        logged = st.form_submit_button(tr("fu.log"), type="primary", icon=":material/call:")
    if logged:
        when = datetime.combine(next_day, next_time, tzinfo=tz) if next_day else None
        act(
            followup.log_contact,
            actor=user,
            contact_in={
                "candidate_id": current.candidate_id,
                "application_id": current.application_id,
                "channel": channel,
                "direction": direction,
                "outcome": outcome,
                "summary": summary,
                "next_contact_at": when,
            },
            where={"summary": slot_summary, "next_contact_at": slot_next},
            then=lambda _: st.session_state.update(fu_contact_logged=True),
            done=tr("fu.logged"),
        )
    history = call(followup.list_contacts, actor=user, candidate_id=current.candidate_id) or []
    for contact, who in history:
        nxt = f" · {tr('fu.next_contact')}: {fmt_dt(contact.next_contact_at)}" if contact.next_contact_at else ""
        st.markdown(
            f"**{fmt_dt(contact.at)}** · {tr(f'channel.{contact.channel}')} · "
            f"{tr(f'direction.{contact.direction}')} · {tr(f'outcome.{contact.outcome}')} · "
            f"{md_escape(who)}{nxt}  \n{md_escape(contact.summary, lines=True)}"
        )

with intent_tab:
    # The form starts from the newest recorded intent (a second save must not drop what the first recorded), and
    # remembers which version it started from: a save after someone else's is refused, and what was typed stays.
    # Loaded when the panel opens an application and after one's own save — not when someone else saves while
    # this form is being filled in: that save is then refused, not silently replaced.
    if st.session_state.get("fu_intent_loaded") != current.application_id or st.session_state.pop(
        "fu_intent_saved", False
    ):
        latest = call(followup.latest_intent, actor=user, application_id=current.application_id)
        st.session_state.update(
            fu_intent_loaded=current.application_id,
            fu_intent_version=latest.version if latest else 0,
            fu_interest=latest.interest if latest else 3,
            fu_salary=f"{latest.expected_salary:.2f}".rstrip("0").rstrip(".")
            if latest and latest.expected_salary is not None
            else "",
            fu_start=latest.earliest_start if latest else None,
            fu_deadline=latest.decision_deadline if latest else None,
            fu_notes=latest.notes if latest else "",
            fu_offers_seed=json.loads(latest.offers) if latest else [],
            fu_offers_gen=st.session_state.get("fu_offers_gen", 0) + 1,
        )
    seed = st.session_state["fu_offers_seed"]
    with st.form(f"fu_intent_{current.application_id}"):
        interest = st.slider(tr("fu.interest"), 1, 5, key="fu_interest", help=tr("help.interest"))
        i1, i2, i3 = st.columns(3)
        salary = i1.text_input(tr("fu.salary"), key="fu_salary", max_chars=20, placeholder="30000")
        start = i2.date_input(tr("fu.earliest_start"), value=None, key="fu_start")
        deadline = i3.date_input(tr("fu.decision_deadline"), value=None, key="fu_deadline")
        slots = {"expected_salary": i1.empty(), "earliest_start": i2.empty(), "decision_deadline": i3.empty()}
        st.markdown(f"**{tr('fu.offers')}**")
        offers = st.data_editor(
            pd.DataFrame(
                {
                    "company": pd.Series([o.get("company", "") for o in seed], dtype="str"),
                    "stage": pd.Series([o.get("stage") or "" for o in seed], dtype="str"),
                    "deadline": pd.Series(pd.to_datetime([o.get("deadline") for o in seed]), dtype="datetime64[ns]"),
                }
            ),
            num_rows="dynamic",
            key=f"fu_offers_{st.session_state['fu_offers_gen']}",
            width="stretch",
            column_config={
                "company": st.column_config.TextColumn(tr("fu.offer_company"), max_chars=120),
                "stage": st.column_config.TextColumn(tr("fu.offer_stage"), max_chars=60),
                "deadline": st.column_config.DateColumn(tr("fu.offer_deadline")),
            },
        )
        slots["offers"] = st.empty()
        notes = st.text_area(tr("field.notes"), key="fu_notes", max_chars=5000, height=80)
        slots["notes"] = st.empty()
        slots["__all__"] = st.empty()
        saved = st.form_submit_button(tr("fu.save_intent"), type="primary", icon=":material/save:")
    if saved:
        offer_rows = [
            {
                "company": r["company"],
                "stage": r.get("stage") or "",
                "deadline": r["deadline"].date() if pd.notna(r.get("deadline")) else None,
            }
            for r in offers.to_dict("records")
            if isinstance(r.get("company"), str) and r["company"].strip()
        ]

        def _conflict(exc: Conflict) -> None:
            show_error(exc, slots)
            if exc.current is not None:
                # What the other person saved is listed below; saving again now replaces it with what is typed.
                st.session_state["fu_intent_version"] = exc.current.version

        act(
            followup.record_intent,
            actor=user,
            version=st.session_state["fu_intent_version"],
            intent_in={
                "application_id": current.application_id,
                "interest": interest,
                "expected_salary": salary or None,
                "earliest_start": start,
                "decision_deadline": deadline,
                "notes": notes,
                "offers": offer_rows,
            },
            where=slots,
            on={Conflict: _conflict},
            then=lambda _: st.session_state.update(fu_intent_saved=True),
            done=tr("fu.intent_saved"),
        )
    for intent, who in call(followup.intent_history, actor=user, application_id=current.application_id) or []:
        offers_text = "；".join(
            md_escape(f"{o['company']}（{o.get('stage') or '—'}，{o.get('deadline') or '—'}）")
            for o in json.loads(intent.offers)
        )
        st.text(
            f"{fmt_dt(intent.at)} · {who} · {tr('fu.interest')} {intent.interest}/5"
            + (f" · {tr('fu.salary')} {fmt_num(intent.expected_salary)}" if intent.expected_salary else "")
            + (f" · {tr('fu.earliest_start')} {fmt_day(intent.earliest_start)}" if intent.earliest_start else "")
            + (
                f" · {tr('fu.decision_deadline')} {fmt_day(intent.decision_deadline)}"
                if intent.decision_deadline
                else ""
            )
            + (f"\n{tr('fu.offers')}: {offers_text}" if offers_text else "")
            + (f"\n{intent.notes}" if intent.notes else "")
        )

with mail_tab:
    m1, m2 = st.columns([3, 1], vertical_alignment="bottom")
    template = m1.selectbox(
        tr("fu.template"), list(followup.TEMPLATES[:-1]), key="fu_template", format_func=lambda t: tr(f"template.{t}")
    )
    if m2.button(tr("fu.prepare"), key="fu_prepare", icon=":material/edit_note:"):
        act(followup.prepare_candidate_mail, actor=user, application_id=current.application_id, template=template)
    for draft in call(followup.drafts_for_application, actor=user, application_id=current.application_id) or []:
        review_draft(draft, user, tr(f"template.{draft.template}"))

with pool_tab:
    # Starts from the candidate's pool entry when there is one: saving again changes it, it does not start over.
    entry = call(followup.pool_entry, actor=user, candidate_id=current.candidate_id)
    today = now.astimezone(tz).date()
    if st.session_state.get("fu_pool_loaded") != current.candidate_id or st.session_state.pop("fu_pool_saved", False):
        st.session_state.update(
            fu_pool_loaded=current.candidate_id,
            fu_pool_reason=entry.reason if entry else "",
            fu_pool_family=entry.job_family if entry else "",
            fu_pool_revisit=entry.revisit_on if entry and entry.revisit_on > today else today + timedelta(days=90),
        )
    if entry is not None and entry.status == "active":
        st.caption(tr("pool.already_in"))
    with st.form(f"fu_pool_{current.candidate_id}"):
        reason = st.text_input(tr("pool.reason"), key="fu_pool_reason", max_chars=1000)
        slot_reason = st.empty()
        p1, p2 = st.columns(2)
        family = p1.text_input(tr("pool.job_family"), key="fu_pool_family", max_chars=60)
        revisit = p2.date_input(tr("pool.revisit_on"), key="fu_pool_revisit", value=None)
        slot_revisit = st.empty()
        pooled = st.form_submit_button(tr("pool.add"), icon=":material/bookmark_add:")
    if pooled:
        act(
            followup.add_to_pool,
            actor=user,
            entry_in={
                "candidate_id": current.candidate_id,
                "reason": reason,
                "job_family": family,
                "revisit_on": revisit,
            },
            where={"reason": slot_reason, "revisit_on": slot_revisit},
            then=lambda _: st.session_state.update(fu_pool_saved=True),
            done=tr("pool.added"),
        )

with st.expander(tr("fu.survey_results"), icon=":material/reviews:"):
    by = (
        st.segmented_control(
            tr("fu.survey_by"),
            ["job", "stage"],
            key="fu_survey_by",
            default="job",
            format_func=lambda b: tr(f"fu.survey_by_{b}"),
        )
        or "job"
    )
    groups = call(followup.survey_summary, actor=user, by=by) or []
    overall = call(followup.survey_overall, actor=user)
    if not groups or overall is None:
        st.caption(tr("fu.no_answers"))
    else:

        def _line(name: str, g: followup.SurveyGroup) -> dict:
            return {
                tr("field.job") if by == "job" else tr("field.stage"): name,
                tr("fu.answers"): g.answers,
                tr("fu.counted"): g.counted,
                "NPS": f"{g.nps:+.0f}" if g.shown else tr("fu.too_few", n=followup.MIN_GROUP),
                tr("survey.clarity"): f"{g.clarity:.2f}" if g.shown else "",
                tr("survey.respect"): f"{g.respect:.2f}" if g.shown else "",
                tr("survey.treatment"): f"{g.treatment:.2f}" if g.shown else "",
            }

        rows = [_line(stage_label(g.key) if by == "stage" else g.key, g) for g in groups]
        rows.append(_line(tr("fu.overall"), overall))
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="fu_survey_table")
        st.caption(tr("fu.survey_rule", n=followup.MIN_GROUP))
