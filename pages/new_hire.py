"""One new hire (`?plan=<id>`): the plan's tasks ticked off by their owners, the start date, the buddy; the checklist
as the new hire ticked it; training sessions; the new hire's own page; probation check-ins and the outcome."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from models.onboard import OnboardingPlan, PlanStatus
from services.onboard import plans
from services.platform.errors import Conflict
from ui.common import act, call, current_user, fmt_day, fmt_dt, lang, md_escape, show_error, show_flash, tr, tr_md
from ui.onboard_hires import OWNER_LABELS, STATUS_LABELS, label
from ui.onboard_training import sessions_tab
from ui.onboard_welcome import welcome_tab

user = current_user()
st.page_link("pages/onboard.py", label=tr("plans.back"), icon=":material/arrow_back:")
raw = st.query_params.get("plan", "")
if not raw.isdigit():
    st.title(tr("nav.new_hire"), anchor=False)
    st.info(tr("plans.pick_hire"), icon=":material/badge:")
    st.stop()
plan_id = int(raw)
detail = call(plans.plan_detail, actor=user, plan_id=plan_id)
if detail is None:
    st.stop()
plan, zh = detail.plan, lang() == "zh"
is_open = plan.status in plans.OPEN_PLAN
started = plans.today() >= plan.start_date  # check-ins and the outcome are for days the new hire has worked
st.title(tr_md("plans.title", name=detail.candidate.name), anchor=False)
st.text(
    f"{detail.job.title} · {tr('field.start_date')}: {fmt_day(plan.start_date)} · "
    f"{tr('plans.probation_end')}: {fmt_day(plan.probation_end)} · {tr('plans.status')}: "
    f"{label(STATUS_LABELS, plan.status)}"
)
show_flash()
slot_told = st.empty()  # a conflict message whose form is no longer drawn (the plan closed meanwhile) goes here
SELF = f"nh_self_{plan_id}"  # this person's own save just now (a cancel, an outcome): not someone else's
# The outcome's and the check-ins' submit buttons are keyed: their trigger is readable in the run right after the
# click even when the plan closed meanwhile and their form is not drawn (a hiring manager has no start-date form,
# so the widgets' presence alone said nothing for them, and their outcome vanished without a word).
OUTCOME_SENT, CHECK_IN_SENT = f"nh_outcome_send_{plan_id}", f"nh_ci_send_{plan_id}_"
sent_now = st.session_state.get(OUTCOME_SENT) or any(
    str(k).startswith(CHECK_IN_SENT) and st.session_state.get(k) is True for k in st.session_state
)
if st.session_state.pop(SELF, None) is None and (
    not is_open and (sent_now or any(str(k).startswith(f"nh_start_{plan_id}_") for k in st.session_state))
):
    # the plan's forms were on screen a moment ago: whatever was just sent from them is not saved, and is told so
    slot_told.error(
        tr("plans.closed_meanwhile", status=label(STATUS_LABELS, plan.status)), icon=":material/sync_problem:"
    )
# The version of the plan this page's forms were built from: their widgets are keyed by it, so that a form shows
# the plan as saved (a new version, new widgets) and a save names the version its values were typed against.
VERSION, TOLD = f"nh_version_{plan_id}", f"nh_told_{plan_id}"
if f"nh_tabs_{plan_id}" not in st.session_state:  # the page just opened: its forms show the plan as read now
    st.session_state[VERSION] = plan.version
built = st.session_state.setdefault(VERSION, plan.version)


def _fresh(_: object = None) -> None:
    st.session_state.pop(VERSION, None)
    st.session_state[SELF] = True


def _told(form: str, slots: dict[str, Any]) -> Any:
    """A save refused because someone saved the plan since the form was built: the form is built again from the
    plan as saved now, and above it the message names what is saved (what was typed is still in the message)."""

    def handle(exc: Conflict) -> None:
        saved = exc.current
        if not isinstance(saved, OnboardingPlan):
            show_error(exc, slots)
            return
        st.session_state[VERSION] = saved.version
        st.session_state[TOLD] = (
            form,
            tr_md(
                "plans.conflict",
                start=fmt_day(saved.start_date),
                end=fmt_day(saved.probation_end),
                buddy=person(saved.buddy_id) or "—",
                status=label(STATUS_LABELS, saved.status),
            ),
        )
        st.rerun()

    return handle


def _tell(form: str, slot: Any) -> None:
    """The conflict message of `form`, once, in its place."""
    told = st.session_state.get(TOLD)
    if told and told[0] == form:
        st.session_state.pop(TOLD)
        slot.error(told[1], icon=":material/sync_problem:")


people: dict[int, str] = dict(detail.people)


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else tr("plans.yes") if value else tr("plans.no")


def person(user_id: int | None) -> str:
    return people.get(user_id, "") if user_id else ""


tab_plan, tab_list, tab_training, tab_page, tab_checkins = st.tabs(
    [
        tr("plans.tab_plan"),
        tr("plans.tab_checklist"),
        tr("plans.tab_training"),
        tr("plans.tab_page"),
        tr("plans.tab_checkins"),
    ],
    key=f"nh_tabs_{plan_id}",  # keyed and tracked: a flash above must not send the browser back to the first tab
    on_change="rerun",
)

# --------------------------------------------------------------------------- the plan: tasks, start date, buddy
with tab_plan:
    done = sum(1 for t in detail.tasks if t.done_at)
    st.text(tr("plans.progress_text", done=done, total=len(detail.tasks)))
    for task in detail.tasks:
        ticked = task.done_at is not None
        title = task.title_zh if zh else task.title_en
        owner = person(task.owner_user_id) or label(OWNER_LABELS, task.owner_role)
        late = not ticked and task.due_date < plans.today()
        text = f"{title} · {owner} · {fmt_day(task.due_date)}" + (f" · {tr('plans.late')}" if late else "")
        mine = task.owner_user_id is not None and task.owner_user_id == user.id
        value = st.checkbox(
            md_escape(text),
            value=ticked,
            key=f"nh_task_{task.id}_{int(ticked)}",  # a new widget when the saved state changes
            disabled=not is_open or not (detail.may_edit or mine),
        )
        if task.link_url:
            st.text(f"  {tr('field.link_url')}: {task.link_url}")
        if value != ticked:
            act(
                plans.tick_task,
                actor=user,
                task_id=task.id,
                ticked=value,
                done=tr("plans.ticked") if value else tr("plans.unticked"),
            )
    if detail.may_edit and is_open:
        st.divider()
        c1, c2 = st.columns(2)
        with c1, st.form("nh_start_form"):
            start = st.date_input(tr("field.start_date"), value=plan.start_date, key=f"nh_start_{plan_id}_{built}")
            slot_start = st.empty()
            slot_all = st.empty()
            moved = st.form_submit_button(tr("plans.move_start"), icon=":material/event:")
        _tell("start", slot_all)
        if moved:
            slots = {"start_date": slot_start, "__all__": slot_all}
            act(
                plans.move_start_date,
                actor=user,
                plan_id=plan_id,
                version=built,
                start_date=start,
                where=slots,
                on={Conflict: _told("start", slots)},
                then=_fresh,
                done=tr("plans.start_moved"),
            )
        choices = dict(call(plans.plan_people, actor=user) or [])  # active people only
        people |= choices
        with c2, st.form("nh_buddy_form"):
            options = [0, *choices]
            buddy = st.selectbox(
                tr("field.buddy_id"),
                options,
                index=options.index(plan.buddy_id) if plan.buddy_id in options else 0,
                format_func=lambda v: people.get(v, "—"),
                key=f"nh_buddy_{plan_id}_{built}",
            )
            slot_buddy = st.empty()
            slot_all2 = st.empty()
            named = st.form_submit_button(tr("plans.set_buddy"), icon=":material/diversity_3:")
        _tell("buddy", slot_all2)
        if named:
            slots = {"buddy_id": slot_buddy, "__all__": slot_all2}
            act(
                plans.set_buddy,
                actor=user,
                plan_id=plan_id,
                version=built,
                buddy_id=buddy or None,
                where=slots,
                on={Conflict: _told("buddy", slots)},
                then=_fresh,
                done=tr("plans.buddy_set"),
            )
        with st.expander(tr("plans.cancel_plan"), icon=":material/cancel:"):
            sure = st.checkbox(tr("plans.cancel_sure"), key="nh_cancel_sure")
            slot_cancel = st.empty()
            _tell("cancel", slot_cancel)
            if st.button(tr("plans.cancel_plan"), key="nh_cancel", disabled=not sure):
                act(
                    plans.cancel_plan,
                    actor=user,
                    plan_id=plan_id,
                    version=built,
                    where={"__all__": slot_cancel},
                    on={Conflict: _told("cancel", {"__all__": slot_cancel})},
                    then=_fresh,
                    done=tr("plans.cancelled"),
                )
    elif plan.buddy_id:
        st.text(f"{tr('field.buddy_id')}: {person(plan.buddy_id)}")

# --------------------------------------------------------------------------- the checklist, as the new hire ticked it
with tab_list:
    if detail.checklist:
        st.caption(tr("plans.checklist_help"))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("plans.item"): item.label_zh if zh else item.label_en,
                        tr("plans.item_done"): item.done_at is not None,
                        tr("plans.item_done_at"): fmt_dt(item.done_at),
                    }
                    for item in detail.checklist
                ]
            ),
            key="nh_checklist",
            hide_index=True,
            width="stretch",
            column_config={tr("plans.item_done"): st.column_config.CheckboxColumn(tr("plans.item_done"))},
        )
    else:
        st.info(tr("plans.no_checklist"), icon=":material/checklist:")

with tab_training:
    sessions_tab(plan_id)

with tab_page:
    welcome_tab(plan_id)

# --------------------------------------------------------------------------- check-ins and the outcome
with tab_checkins:
    if detail.check_ins:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("plans.day"): c.day,
                        tr("plans.due"): fmt_day(c.due_date),
                        tr("plans.manager"): person(c.manager_id),
                        tr("field.rating"): "—" if c.rating is None else str(c.rating),  # not yet: no "None"
                        tr("field.on_track"): _yes_no(c.on_track),
                        tr("field.notes"): c.notes,
                        tr("field.concerns"): c.concerns,
                        tr("plans.recorded_at"): fmt_dt(c.done_at),
                    }
                    for c in detail.check_ins
                ]
            ),
            key="nh_checkins",
            hide_index=True,
            width="stretch",
        )
    if detail.may_check_in and is_open and detail.check_ins and not started:
        st.info(tr("plans.check_in_from_start", date=fmt_day(plan.start_date)), icon=":material/event_upcoming:")
    elif detail.may_check_in and is_open and detail.check_ins:
        rows = {c.id: c for c in detail.check_ins}
        first_open = next((c.id for c in detail.check_ins if c.done_at is None), detail.check_ins[-1].id)
        recorded_count = sum(1 for c in detail.check_ins if c.done_at is not None)
        st.subheader(tr("plans.record_check_in"), anchor=False)
        chosen = st.selectbox(
            tr("plans.which_check_in"),
            list(rows),
            index=list(rows).index(first_open),
            format_func=lambda i: (
                tr("plans.check_in_day", day=rows[i].day, due=fmt_day(rows[i].due_date))
                + (f" · {tr('plans.check_in_recorded')}" if rows[i].done_at else "")
            ),
            # a check-in recorded makes a new picker, which opens on the next open one
            key=f"nh_ci_pick_{plan_id}_{recorded_count}",
        )
        row = rows[chosen]
        seen = f"nh_ci_version_{row.id}"
        if seen not in st.session_state:
            st.session_state[seen] = row.version
        with st.form(f"nh_ci_form_{row.id}"):
            rating = st.slider(tr("field.rating"), 1, 5, value=row.rating or 3, key=f"nh_ci_rating_{row.id}")
            track = st.radio(
                tr("field.on_track"),
                [True, False],
                index=0 if row.on_track is not False else 1,
                format_func=lambda v: tr("plans.yes") if v else tr("plans.no"),
                horizontal=True,
                key=f"nh_ci_track_{row.id}",
            )
            notes = st.text_area(tr("field.notes"), value=row.notes, max_chars=5000, key=f"nh_ci_notes_{row.id}")
            slot_notes = st.empty()
            concerns = st.text_area(
                tr("field.concerns"), value=row.concerns, max_chars=5000, key=f"nh_ci_concerns_{row.id}"
            )
            slots = {"rating": st.empty(), "notes": slot_notes, "concerns": st.empty(), "__all__": st.empty()}
            recorded = st.form_submit_button(
                tr("plans.save_check_in"), type="primary", icon=":material/save:", key=f"{CHECK_IN_SENT}{row.id}"
            )
        if recorded:

            def _ci_told(exc: Conflict) -> None:
                show_error(exc, slots)
                if isinstance(exc.current, int):
                    st.session_state[seen] = exc.current

            act(
                plans.record_check_in,
                actor=user,
                check_in_id=row.id,
                version=st.session_state[seen],
                check_in_in={"rating": rating, "on_track": track, "notes": notes, "concerns": concerns},
                where=slots,
                on={Conflict: _ci_told},
                then=lambda _: st.session_state.pop(seen, None),
                done=tr("plans.check_in_saved"),
            )
    st.divider()
    st.subheader(tr("plans.outcome"), anchor=False)
    if plan.outcome_at:
        st.text(
            f"{label(STATUS_LABELS, plan.status)} · {fmt_dt(plan.outcome_at)} · {person(plan.outcome_by_id)}"
            + (f" · {plan.outcome_notes}" if plan.outcome_notes else "")
        )
    if detail.may_decide and is_open and not started:
        st.info(tr("plans.outcome_from_start", date=fmt_day(plan.start_date)), icon=":material/event_upcoming:")
    elif detail.may_decide and is_open:
        outcomes = [PlanStatus.passed.value, PlanStatus.extended.value, PlanStatus.not_passed.value]
        with st.form("nh_outcome_form"):
            outcome = st.radio(
                tr("plans.outcome"),
                outcomes,
                format_func=lambda v: label(STATUS_LABELS, v),
                horizontal=True,
                key="nh_outcome",
            )
            extended_to = st.date_input(tr("field.extended_to"), value=None, key="nh_extended_to")
            slot_ext = st.empty()
            notes = st.text_area(tr("field.notes"), max_chars=5000, key="nh_outcome_notes")
            slot_all3 = st.empty()
            decided = st.form_submit_button(
                tr("plans.record_outcome"), type="primary", icon=":material/verified:", key=OUTCOME_SENT
            )
        _tell("outcome", slot_all3)
        if decided:
            slots = {"extended_to": slot_ext, "outcome": slot_all3, "__all__": slot_all3}
            act(
                plans.record_outcome,
                actor=user,
                plan_id=plan_id,
                version=built,
                outcome_in={"outcome": outcome, "extended_to": extended_to, "notes": notes},
                where=slots,
                on={Conflict: _told("outcome", slots)},
                then=_fresh,
                done=tr("plans.outcome_saved"),
            )

if TOLD in st.session_state:  # its form was not drawn this time: said at the top rather than lost
    slot_told.error(st.session_state.pop(TOLD)[1], icon=":material/sync_problem:")
