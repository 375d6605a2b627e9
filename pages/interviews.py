"""Interviews: my interviews (awaiting my scorecard, upcoming) and, for recruiters, scheduling and the week's plan."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from models.common import Role, utcnow
from models.evaluation import InterviewMode, InterviewStatus
from services.evaluate import evaluation, interview_import
from services.pipeline import importer
from services.platform import users
from services.platform.config import get_settings
from services.platform.errors import DomainError
from services.platform.policy import Cap, may_sit_on_panels
from ui.common import (
    act,
    call,
    can,
    current_user,
    db,
    error_md,
    fmt_clock,
    fmt_dt,
    has_role,
    lang,
    row_table,
    show_flash,
    stage_label,
    tr,
    trn,
)
from ui.drafts import review_draft

user = current_user()
tz = get_settings().tz
st.title(tr("nav.interviews"), anchor=False)
show_flash()


def _round_name(row: evaluation.InterviewRow) -> str:
    return row.round_zh if lang() == "zh" else row.round_en


def _when(row: evaluation.InterviewRow) -> str:
    iv = row.interview
    return f"{fmt_dt(iv.starts_at)}–{fmt_clock(iv.ends_at)}"


def my_interviews() -> None:
    mine = call(evaluation.my_interviews, actor=user)
    if mine is None:
        return
    st.subheader(tr("iv.awaiting"), anchor=False)
    if not mine.awaiting:
        st.success(tr("iv.none_awaiting"), icon=":material/task_alt:")
    for row in mine.awaiting:
        with st.container(border=True):
            left, right = st.columns([5, 1], vertical_alignment="center")
            state = tr("iv.draft_saved") if row.my_status == "draft" else tr("iv.not_started")
            # Names and places are people's text: shown as text, never as Markdown.
            left.text(f"{row.candidate} · {row.job} · {_round_name(row)}")
            left.markdown(f":red[{tr('iv.ended', when=_when(row))}] · {state}")
            right.page_link(
                "pages/scorecard.py",
                label=tr("iv.open_scorecard"),
                icon=":material/rate_review:",
                query_params={"interview": str(row.interview.id)},
            )
    st.subheader(tr("iv.upcoming"), anchor=False)
    if not mine.upcoming:
        st.info(tr("iv.none_upcoming"), icon=":material/event_available:")
    for row in mine.upcoming:
        with st.container(border=True):
            iv = row.interview
            place = f" · {iv.location}" if iv.location else ""
            st.text(f"{row.candidate} · {row.job} · {_round_name(row)}")
            st.text(f"{_when(row)} · {tr(f'iv_mode.{iv.mode}')}{place} · {tr('iv.panel')}: {', '.join(row.panel)}")


def _show_clashes(clashes: list[evaluation.Clash]) -> None:
    st.warning(tr("iv.conflicts_title"), icon=":material/event_busy:")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    tr("iv.when"): f"{fmt_dt(c.starts_at)}–{fmt_clock(c.ends_at)}",
                    tr("field.name"): c.candidate,
                    tr("field.job"): c.job,
                    tr("iv.conflict_who"): ", ".join(c.people),
                }
                for c in clashes
            ]
        ),
        hide_index=True,
        width="stretch",
        key=f"iv_clashes_{len(clashes)}_{clashes[0].interview_id}",
    )


def _panel_options() -> dict[int, str]:
    with db() as session:
        people = users.list_users(session=session, actor=user, active_only=True)
    return {p.id: p.name for p in people if may_sit_on_panels(p)}


def _rounds() -> dict[int, str]:
    with db() as session:
        rounds = evaluation.list_rounds(session=session, actor=user)
    return {r.id: (r.name_zh if lang() == "zh" else r.name_en) for r in rounds}


def _applications(q: str, preset: str) -> dict[int, str]:
    found = (
        call(evaluation.schedulable_applications, actor=user, q=q, include=int(preset) if preset.isdigit() else None)
        or []
    )
    return {
        a["application_id"]: " · ".join(x for x in (a["candidate"], a["email"], a["job"], stage_label(a["stage"])) if x)
        for a in found
    }


def _schedule(request: dict, allow_conflicts: bool, slot: Any) -> None:
    """Book it; a double booking is kept in the session to show and to confirm with "Schedule anyway"."""

    def clashed(exc: evaluation.ScheduleConflict) -> None:
        st.session_state["iv_new_pending"] = {"request": request, "clashes": exc.clashes}
        st.rerun()

    def booked(_: object) -> None:
        # A new form (new widget keys): the next click cannot book the same interview again.
        st.session_state.pop("iv_new_pending", None)
        st.session_state["iv_new_nonce"] = st.session_state.get("iv_new_nonce", 0) + 1

    act(
        evaluation.schedule_interview,
        actor=user,
        interview_in=request,
        allow_conflicts=allow_conflicts,
        where={"interviewer_ids": slot, "application_id": slot, "__all__": slot},
        on={evaluation.ScheduleConflict: clashed},
        then=booked,
        done=lambda _: (
            tr("iv.scheduled")
            + " "
            + tr("iv.invites_sent" if evaluation.invites_panel(request["ends_at"]) else "iv.recorded_past")
        ),
    )


def schedule_form(panel: dict[int, str], rounds: dict[int, str]) -> None:
    preset = st.query_params.get("application", "")
    # Outside the form, so that a search runs as it is typed (Enter); the picker then offers what it found.
    q = st.text_input(
        tr("iv.candidate_search"), key="iv_app_q", max_chars=100, placeholder=tr("iv.candidate_search_hint")
    )
    apps = _applications(q, preset)
    if q.strip() and not apps:
        st.caption(tr("iv.candidate_search_none"))
    n = st.session_state.get("iv_new_nonce", 0)
    with st.form(f"iv_new_form_{n}"):
        st.markdown(f"**{tr('iv.schedule')}**")
        options = list(apps)
        index = options.index(int(preset)) if preset.isdigit() and int(preset) in apps else None
        application_id = st.selectbox(
            tr("iv.candidate_pick"),
            options,
            index=index,
            format_func=apps.get,
            key=f"iv_new_app_{n}",
            placeholder=tr("iv.candidate_pick"),
            help=tr("iv.candidate_pick_hint"),
        )
        app_slot = st.empty()
        c1, c2, c3 = st.columns(3)
        day = c1.date_input(
            tr("iv.date"), key=f"iv_new_day_{n}", value=(utcnow() + timedelta(days=1)).astimezone(tz).date()
        )
        start = c2.time_input(tr("iv.start"), key=f"iv_new_start_{n}", value=time(10, 0), step=900)
        minutes = c3.number_input(
            tr("iv.minutes"), key=f"iv_new_minutes_{n}", min_value=15, max_value=480, value=60, step=15
        )
        c4, c5 = st.columns(2)
        round_id = c4.selectbox(tr("iv.round"), list(rounds), format_func=rounds.get, key=f"iv_new_round_{n}")
        mode = c5.selectbox(
            tr("iv.mode"),
            [m.value for m in InterviewMode],
            key=f"iv_new_mode_{n}",
            format_func=lambda m: tr(f"iv_mode.{m}"),
        )
        location = st.text_input(tr("iv.location"), key=f"iv_new_location_{n}", max_chars=300)
        panelists = st.multiselect(
            tr("iv.panel"),
            list(panel),
            format_func=panel.get,
            key=f"iv_new_panel_{n}",
            placeholder=tr("common.choose_many"),
            select_all=False,
        )
        slot = st.empty()
        submitted = st.form_submit_button(tr("iv.schedule"), type="primary", icon=":material/event:")
    if not apps:
        st.caption(tr("iv.no_open_applications"))
    if submitted:
        st.session_state.pop("iv_new_pending", None)
        if application_id is None:
            app_slot.error(tr("iv.candidate_required"), icon=":material/error:")
            return
        starts = datetime.combine(day, start, tzinfo=tz)
        _schedule(
            {
                "application_id": application_id,
                "round_id": round_id,
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=int(minutes)),
                "mode": mode,
                "location": location,
                "interviewer_ids": panelists,
            },
            allow_conflicts=False,
            slot=slot,
        )
        return
    pending = st.session_state.get("iv_new_pending")
    if pending:
        _show_clashes(pending["clashes"])
        b1, b2, _ = st.columns([1, 1, 3])
        if b1.button(tr("iv.schedule_anyway"), key="iv_new_anyway", type="primary", icon=":material/event:"):
            _schedule(pending["request"], allow_conflicts=True, slot=st.empty())
        if b2.button(tr("iv.change_instead"), key="iv_new_dont", icon=":material/close:"):
            st.session_state.pop("iv_new_pending", None)
            st.rerun()


def week_plan(panel: dict[int, str]) -> None:
    today = utcnow().astimezone(tz).date()
    start_day = st.date_input(tr("iv.week_of"), key="iv_week", value=today - timedelta(days=today.weekday()))
    start = datetime.combine(start_day, time(0, 0), tzinfo=tz)
    rows = call(evaluation.list_interviews, actor=user, start=start, end=start + timedelta(days=7)) or []
    if not rows:
        st.info(tr("iv.none_this_week"), icon=":material/event_busy:")
        return
    frame = pd.DataFrame(
        [
            {
                "id": r.interview.id,
                tr("iv.when"): _when(r),
                tr("field.name"): r.candidate,
                tr("field.job"): r.job,
                tr("iv.round"): _round_name(r),
                tr("iv.mode"): tr(f"iv_mode.{r.interview.mode}"),
                tr("iv.panel"): ", ".join(r.panel),
                tr("field.status"): tr(f"iv_status.{r.state}"),
            }
            for r in rows
        ]
    )
    picked = row_table(
        frame,
        key="iv_week_table",
        ids=[r.interview.id for r in rows],
        column_config={"id": None},
        caption=tr("iv.click_to_change"),
    )
    if not picked:
        return
    row = next(r for r in rows if r.interview.id == picked)
    iv = row.interview
    if iv.status != InterviewStatus.scheduled:
        st.info(tr("iv.not_scheduled_any_more"), icon=":material/info:")
        return
    with st.form(f"iv_edit_form_{iv.id}_{iv.version}"):
        st.markdown(f"**{tr('iv.reschedule')}**")
        st.text(f"{row.candidate} · {row.job}")
        local = iv.starts_at.astimezone(tz)
        c1, c2, c3 = st.columns(3)
        day = c1.date_input(tr("iv.date"), value=local.date(), key=f"iv_edit_day_{iv.id}_{iv.version}")
        start = c2.time_input(
            tr("iv.start"), value=local.time().replace(tzinfo=None), step=900, key=f"iv_edit_start_{iv.id}_{iv.version}"
        )
        minutes = c3.number_input(
            tr("iv.minutes"),
            min_value=15,
            max_value=480,
            step=15,
            value=int((iv.ends_at - iv.starts_at).total_seconds() // 60),
            key=f"iv_edit_min_{iv.id}_{iv.version}",
        )
        location = st.text_input(
            tr("iv.location"), value=iv.location, max_chars=300, key=f"iv_edit_loc_{iv.id}_{iv.version}"
        )
        current = [uid for uid, name in panel.items() if name in row.panel]
        panelists = st.multiselect(
            tr("iv.panel"),
            list(panel),
            default=current,
            format_func=panel.get,
            key=f"iv_edit_panel_{iv.id}_{iv.version}",
            placeholder=tr("common.choose_many"),
            select_all=False,
        )
        slot = st.empty()
        b1, b2, b3 = st.columns(3)
        save = b1.form_submit_button(tr("common.save"), type="primary", icon=":material/save:")
        cancel = b2.form_submit_button(tr("iv.cancel"), icon=":material/event_busy:")
        no_show = b3.form_submit_button(tr("iv.no_show"), icon=":material/person_off:")
    pending = st.session_state.get("iv_edit_pending")
    if pending and pending["interview_id"] != iv.id:
        pending = None
    anyway = False
    if pending and "clashes" in pending:
        _show_clashes(pending["clashes"])
        anyway = st.button(tr("iv.save_anyway"), key="iv_edit_anyway", type="primary", icon=":material/save:")
    where = {"interviewer_ids": slot, "__all__": slot}
    if save:
        starts = datetime.combine(day, start, tzinfo=tz)
        pending = {
            "interview_id": iv.id,
            "version": iv.version,
            "request": {
                "round_id": iv.round_id,
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=int(minutes)),
                "mode": iv.mode,
                "location": location,
                "interviewer_ids": panelists,
            },
        }
        _reschedule(pending, allow_conflicts=False, where=where)
    elif pending and anyway:
        _reschedule(pending, allow_conflicts=True, where=where)
    if cancel or no_show:
        status = InterviewStatus.cancelled if cancel else InterviewStatus.no_show
        act(
            evaluation.set_interview_status,
            actor=user,
            interview_id=iv.id,
            status=status,
            where=where,
            then=lambda _: st.session_state.pop("iv_edit_pending", None),
            done=tr(f"iv_status.{status}"),
        )
    confirmation(iv.id)


def _reschedule(pending: dict, allow_conflicts: bool, where: dict[str, Any]) -> None:
    def clashed(exc: evaluation.ScheduleConflict) -> None:
        st.session_state["iv_edit_pending"] = pending | {"clashes": exc.clashes}
        st.rerun()

    act(
        evaluation.reschedule_interview,
        actor=user,
        interview_id=pending["interview_id"],
        version=pending["version"],
        interview_in=pending["request"],
        allow_conflicts=allow_conflicts,
        where=where,
        on={evaluation.ScheduleConflict: clashed},
        then=lambda _: st.session_state.pop("iv_edit_pending", None),
        done=tr("iv.rescheduled") + " " + tr("iv.invites_sent"),
    )


def confirmation(interview_id: int) -> None:
    """The candidate's confirmation with the invitation attached: prepared on request, reviewed, sent."""
    drafts = call(evaluation.interview_confirmation_drafts, actor=user, interview_id=interview_id) or []
    if not drafts and st.button(
        tr("iv.confirm_candidate"), key=f"iv_confirm_{interview_id}", icon=":material/forward_to_inbox:"
    ):
        act(evaluation.prepare_interview_confirmation, actor=user, interview_id=interview_id)
    for draft in drafts:
        review_draft(draft, user, tr("iv.confirmation_title"))


def import_form() -> None:
    with st.expander(tr("iv.import"), icon=":material/upload_file:"):
        st.caption(tr("iv.import_intro"))
        st.download_button(
            tr("import.template"),
            interview_import.TEMPLATE.encode("utf-8-sig"),
            file_name="interviews-template.csv",
            mime="text/csv",
            key="iv_import_template",
            on_click="ignore",
            icon=":material/description:",
        )
        upload = st.file_uploader(tr("import.file"), type=["csv", "xlsx"], key="iv_import_file")
        if upload is None or not st.button(tr("import.run"), key="iv_import_run", icon=":material/upload:"):
            return
        try:
            rows = importer.read_rows(
                filename=upload.name,
                content=upload.getvalue(),
                headers=interview_import.HEADERS,
                required="candidate_email",
            )
            with db() as session:
                report = interview_import.import_interviews(session=session, actor=user, rows=rows)
        except importer.ImportRowsError as exc:  # unreadable cells: listed by row below, like any row problem
            report = importer.ImportReport(errors=exc.errors)
        except DomainError as exc:
            st.error(error_md(exc), icon=":material/error:")
            return
        if report.ok:
            st.success(trn("iv.imported", report.created, count=report.created), icon=":material/check_circle:")
            return
        bad = len({e.row for e in report.errors})
        st.error(trn("import.failed", bad, rows=bad), icon=":material/error:")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("import.row"): e.row,
                        tr("common.field"): tr(f"field.{e.field}") if e.field else "",
                        tr("import.value"): e.value,
                        tr("import.problem"): tr(e.key, **e.params),
                    }
                    for e in report.errors
                ]
            ),
            hide_index=True,
            key="iv_import_errors",
            width="stretch",
        )


if can(Cap.schedule):
    # Scheduling is a recruiter's usual errand here; their own interviews come first only if they interview.
    plan_first = st.query_params.get("application") or not has_role(Role.interviewer, Role.hiring_manager)
    # Keyed and tracked, so that a message coming or going above does not send the browser back to the first tab.
    mine_tab, plan_tab = st.tabs(
        [tr("iv.tab_mine"), tr("iv.tab_plan")],
        key="iv_tabs",
        on_change="rerun",
        default=tr("iv.tab_plan") if plan_first else tr("iv.tab_mine"),
    )
    with mine_tab:
        my_interviews()
    with plan_tab:
        panel, rounds = _panel_options(), _rounds()
        schedule_form(panel, rounds)
        import_form()
        week_plan(panel)
else:
    my_interviews()
