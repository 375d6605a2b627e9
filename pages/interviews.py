"""Interviews: my interviews (awaiting my scorecard, upcoming) and, for recruiters, scheduling and the week's plan."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from models.common import Role, utcnow
from models.evaluation import InterviewMode, InterviewStatus
from services import candidates, evaluation, importer, interview_import, users
from services.config import get_settings
from services.errors import Conflict, DomainError, ValidationError
from ui.common import (
    call,
    current_user,
    db,
    flash,
    fmt_dt,
    has_role,
    lang,
    md_escape,
    row_table,
    show_flash,
    show_validation,
    tr,
    tr_md,
)

user = current_user()
tz = get_settings().tz
st.title(tr("nav.interviews"), anchor=False)
show_flash()


def _round_name(row: evaluation.InterviewRow) -> str:
    return row.round_zh if lang() == "zh" else row.round_en


def _when(row: evaluation.InterviewRow) -> str:
    iv = row.interview
    return f"{fmt_dt(iv.starts_at)}–{iv.ends_at.astimezone(tz):%H:%M}"


def my_interviews() -> None:
    mine = call(evaluation.my_interviews, actor=user)
    if mine is None:
        return
    st.subheader(tr("iv.awaiting"), anchor=False)
    if not mine["awaiting"]:
        st.success(tr("iv.none_awaiting"), icon=":material/task_alt:")
    for row in mine["awaiting"]:
        with st.container(border=True):
            left, right = st.columns([5, 1], vertical_alignment="center")
            state = tr("iv.draft_saved") if row.my_status == "draft" else tr("iv.not_started")
            left.markdown(f"**{md_escape(row.candidate)}** · {md_escape(row.job)} · {md_escape(_round_name(row))}  \n"
                          f":red[{tr('iv.ended', when=_when(row))}] · {state}")
            right.page_link("pages/scorecard.py", label=tr("iv.open_scorecard"), icon=":material/rate_review:",
                            query_params={"interview": str(row.interview.id)})
    st.subheader(tr("iv.upcoming"), anchor=False)
    if not mine["upcoming"]:
        st.info(tr("iv.none_upcoming"), icon=":material/event_available:")
    for row in mine["upcoming"]:
        with st.container(border=True):
            iv = row.interview
            place = f" · {md_escape(iv.location)}" if iv.location else ""
            st.markdown(f"**{md_escape(row.candidate)}** · {md_escape(row.job)} · {md_escape(_round_name(row))}  \n"
                        f"{_when(row)} · {tr(f'iv_mode.{iv.mode}')}{place} · {tr('iv.panel')}: "
                        f"{md_escape(', '.join(row.panel))}")


def _panel_options() -> dict[int, str]:
    with db() as session:
        people = users.list_users(session=session, actor=user, active_only=True)
    return {p.id: p.name for p in people if p.has_role(*evaluation.PANEL_ROLES)}


def _rounds() -> dict[int, str]:
    with db() as session:
        rounds = evaluation.list_rounds(session=session, actor=user)
    return {r.id: (r.name_zh if lang() == "zh" else r.name_en) for r in rounds}


def schedule_form(panel: dict[int, str], rounds: dict[int, str]) -> None:
    preset = st.query_params.get("application", "")
    with st.form("iv_new_form"):
        st.markdown(f"**{tr('iv.schedule')}**")
        if preset.isdigit():
            st.caption(tr("iv.for_application", id=preset))
            q = ""
        else:
            q = st.text_input(tr("iv.find_candidate"), key="iv_new_q", max_chars=100)
        c1, c2, c3 = st.columns(3)
        day = c1.date_input(tr("iv.date"), key="iv_new_day", value=(utcnow() + timedelta(days=1)).astimezone(tz).date())
        start = c2.time_input(tr("iv.start"), key="iv_new_start", value=time(10, 0), step=900)
        minutes = c3.number_input(tr("iv.minutes"), key="iv_new_minutes", min_value=15, max_value=480, value=60,
                                  step=15)
        c4, c5 = st.columns(2)
        round_id = c4.selectbox(tr("iv.round"), list(rounds), format_func=rounds.get, key="iv_new_round")
        mode = c5.selectbox(tr("iv.mode"), [m.value for m in InterviewMode], key="iv_new_mode",
                            format_func=lambda m: tr(f"iv_mode.{m}"))
        location = st.text_input(tr("iv.location"), key="iv_new_location", max_chars=300)
        panelists = st.multiselect(tr("iv.panel"), list(panel), format_func=panel.get, key="iv_new_panel")
        slot = st.empty()
        submitted = st.form_submit_button(tr("iv.schedule"), type="primary", icon=":material/event:")
    if not submitted:
        return
    application_id = int(preset) if preset.isdigit() else None
    if application_id is None:
        with db() as session:
            found = candidates.search_candidates(session=session, actor=user, q=q, stage="interviewing")
        if len(found.rows) != 1 or len(found.rows[0]["applications"]) != 1:
            slot.error(tr("iv.pick_one_application", count=len(found.rows)), icon=":material/error:")
            return
        with db() as session:
            detail = candidates.get_candidate_detail(session=session, actor=user, candidate_id=found.rows[0]["id"])
        application_id = detail["applications"][0]["application"].id
    starts = datetime.combine(day, start, tzinfo=tz)
    try:
        with db() as session:
            evaluation.schedule_interview(session=session, actor=user, interview_in={
                "application_id": application_id, "round_id": round_id, "starts_at": starts,
                "ends_at": starts + timedelta(minutes=int(minutes)), "mode": mode, "location": location,
                "interviewer_ids": panelists})
    except ValidationError as exc:
        show_validation(exc, {"interviewer_ids": slot})
    except DomainError as exc:
        slot.error(tr_md(exc.key, **exc.params), icon=":material/error:")
    else:
        flash(tr("iv.scheduled"))
        st.rerun()


def week_plan(panel: dict[int, str], rounds: dict[int, str]) -> None:
    today = utcnow().astimezone(tz).date()
    start_day = st.date_input(tr("iv.week_of"), key="iv_week", value=today - timedelta(days=today.weekday()))
    start = datetime.combine(start_day, time(0, 0), tzinfo=tz)
    rows = call(evaluation.list_interviews, actor=user, start=start, end=start + timedelta(days=7)) or []
    if not rows:
        st.info(tr("iv.none_this_week"), icon=":material/event_busy:")
        return
    frame = pd.DataFrame([
        {"id": r.interview.id, tr("iv.when"): _when(r), tr("field.name"): r.candidate, tr("field.job"): r.job,
         tr("iv.round"): _round_name(r), tr("iv.mode"): tr(f"iv_mode.{r.interview.mode}"),
         tr("iv.panel"): ", ".join(r.panel), tr("field.status"): tr(f"iv_status.{r.interview.status}")}
        for r in rows
    ])
    picked = row_table(frame, key="iv_week_table", ids=[r.interview.id for r in rows], column_config={"id": None},
                       caption=tr("iv.click_to_change"))
    if not picked:
        return
    row = next(r for r in rows if r.interview.id == picked)
    iv = row.interview
    if iv.status != InterviewStatus.scheduled:
        st.info(tr("iv.not_scheduled_any_more"), icon=":material/info:")
        return
    with st.form("iv_edit_form"):
        st.markdown(f"**{tr('iv.reschedule')}** · {md_escape(row.candidate)} · {md_escape(row.job)}")
        local = iv.starts_at.astimezone(tz)
        c1, c2, c3 = st.columns(3)
        day = c1.date_input(tr("iv.date"), value=local.date(), key=f"iv_edit_day_{iv.id}")
        start = c2.time_input(tr("iv.start"), value=local.time().replace(tzinfo=None), step=900,
                              key=f"iv_edit_start_{iv.id}")
        minutes = c3.number_input(tr("iv.minutes"), min_value=15, max_value=480, step=15,
                                  value=int((iv.ends_at - iv.starts_at).total_seconds() // 60),
                                  key=f"iv_edit_min_{iv.id}")
        location = st.text_input(tr("iv.location"), value=iv.location, max_chars=300, key=f"iv_edit_loc_{iv.id}")
        current = [uid for uid, name in panel.items() if name in row.panel]
        panelists = st.multiselect(tr("iv.panel"), list(panel), default=current, format_func=panel.get,
                                   key=f"iv_edit_panel_{iv.id}")
        slot = st.empty()
        b1, b2, b3 = st.columns(3)
        save = b1.form_submit_button(tr("common.save"), type="primary", icon=":material/save:")
        cancel = b2.form_submit_button(tr("iv.cancel"), icon=":material/event_busy:")
        no_show = b3.form_submit_button(tr("iv.no_show"), icon=":material/person_off:")
    try:
        if save:
            starts = datetime.combine(day, start, tzinfo=tz)
            with db() as session:
                evaluation.reschedule_interview(session=session, actor=user, interview_id=iv.id, version=iv.version,
                                                interview_in={"round_id": iv.round_id, "starts_at": starts,
                                                              "ends_at": starts + timedelta(minutes=int(minutes)),
                                                              "mode": iv.mode, "location": location,
                                                              "interviewer_ids": panelists})
            flash(tr("iv.rescheduled"))
            st.rerun()
        if cancel or no_show:
            status = InterviewStatus.cancelled if cancel else InterviewStatus.no_show
            with db() as session:
                evaluation.set_interview_status(session=session, actor=user, interview_id=iv.id, status=status)
            flash(tr(f"iv_status.{status}"))
            st.rerun()
    except ValidationError as exc:
        show_validation(exc, {"interviewer_ids": slot})
    except Conflict:
        slot.error(tr("err.conflict"), icon=":material/sync_problem:")
    except DomainError as exc:
        slot.error(tr_md(exc.key, **exc.params), icon=":material/error:")


def import_form() -> None:
    with st.expander(tr("iv.import"), icon=":material/upload_file:"):
        st.caption(tr("iv.import_intro"))
        st.download_button(tr("import.template"), interview_import.TEMPLATE.encode("utf-8-sig"),
                           file_name="interviews-template.csv", mime="text/csv", key="iv_import_template",
                           on_click="ignore", icon=":material/description:")
        upload = st.file_uploader(tr("import.file"), type=["csv", "xlsx"], key="iv_import_file")
        if upload is None or not st.button(tr("import.run"), key="iv_import_run", icon=":material/upload:"):
            return
        try:
            rows = importer.read_rows(filename=upload.name, content=upload.getvalue(),
                                      headers=interview_import.HEADERS, required="candidate_email")
            with db() as session:
                report = interview_import.import_interviews(session=session, actor=user, rows=rows)
        except DomainError as exc:
            st.error(tr_md(exc.key, **exc.params), icon=":material/error:")
            return
        if report.ok:
            st.success(tr("iv.imported", count=report.created), icon=":material/check_circle:")
            return
        st.error(tr("import.failed", rows=len({e.row for e in report.errors})), icon=":material/error:")
        st.dataframe(pd.DataFrame([
            {tr("import.row"): e.row, tr("common.field"): tr(f"field.{e.field}") if e.field else "",
             tr("import.value"): e.value, tr("import.problem"): tr(e.key, **e.params)}
            for e in report.errors
        ]), hide_index=True, key="iv_import_errors", width="stretch")


if has_role(Role.admin, Role.recruiter):
    # Scheduling is a recruiter's usual errand here; their own interviews come first only if they interview.
    plan_first = st.query_params.get("application") or not has_role(Role.interviewer, Role.hiring_manager)
    # Keyed and tracked, so that a message coming or going above does not send the browser back to the first tab.
    mine_tab, plan_tab = st.tabs([tr("iv.tab_mine"), tr("iv.tab_plan")], key="iv_tabs", on_change="rerun",
                                 default=tr("iv.tab_plan") if plan_first else tr("iv.tab_mine"))
    with mine_tab:
        my_interviews()
    with plan_tab:
        panel, rounds = _panel_options(), _rounds()
        schedule_form(panel, rounds)
        import_form()
        week_plan(panel, rounds)
else:
    my_interviews()
