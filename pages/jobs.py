"""Jobs: the list with open applications, create, edit, close and reopen."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.common import JobStatus, Role
from services.pipeline import jobs
from services.platform import users
from services.platform.errors import Conflict
from services.platform.policy import Cap
from ui.common import (
    act,
    call,
    can,
    current_user,
    db,
    fmt_dt,
    row_table,
    show_flash,
    tr,
    tr_md,
)

user = current_user()
can_edit = can(Cap.edit_jobs)
FIELDS = ["title", "department", "location", "headcount", "hiring_manager_id", "description"]

st.title(tr("nav.jobs"), anchor=False)
show_flash()

with db() as session:
    managers = {
        u.id: u.name for u in users.list_users(session=session, actor=user, role=Role.hiring_manager, active_only=True)
    }
status_filter = st.segmented_control(
    tr("field.status"),
    [s.value for s in JobStatus],
    key="jobs_status",
    default=JobStatus.open.value,
    format_func=lambda s: tr(f"job_status.{s}"),
)
rows = call(jobs.list_jobs, actor=user, status=status_filter) or []


def _load(job) -> None:
    prefix = "jobs_edit"
    for f in FIELDS:
        st.session_state[f"{prefix}_{f}"] = (
            getattr(job, f) if job else ("" if f not in {"headcount", "hiring_manager_id"} else None)
        )
    if job is None:
        st.session_state[f"{prefix}_headcount"] = 1
    st.session_state["jobs_edit_version"] = job.version if job else None
    st.session_state["jobs_edit_id"] = job.id if job else None


def _fields(prefix: str) -> dict:
    slots = {}
    c1, c2 = st.columns(2)
    c1.text_input(tr("field.title"), key=f"{prefix}_title", max_chars=120)
    slots["title"] = c1.empty()
    c2.text_input(tr("field.department"), key=f"{prefix}_department", max_chars=80)
    slots["department"] = c2.empty()
    c1.text_input(tr("field.location"), key=f"{prefix}_location", max_chars=80)
    slots["location"] = c1.empty()
    c2.number_input(tr("field.headcount"), key=f"{prefix}_headcount", min_value=1, max_value=1000, step=1)
    slots["headcount"] = c2.empty()
    st.selectbox(
        tr("field.hiring_manager_id"),
        [None, *managers],
        key=f"{prefix}_hiring_manager_id",
        format_func=lambda i: managers.get(i, tr("common.none")) if i else tr("common.none"),
        placeholder=tr("common.none"),
    )
    slots["hiring_manager_id"] = st.empty()
    st.text_area(tr("field.description"), key=f"{prefix}_description", max_chars=5000, height=100)
    slots["description"] = st.empty()
    return slots


if not rows:
    st.info(tr("jobs.none"), icon=":material/work_off:")
else:
    frame = pd.DataFrame(
        [
            {
                "id": r["job"].id,
                tr("field.title"): r["job"].title,
                tr("field.department"): r["job"].department,
                tr("field.location"): r["job"].location,
                tr("field.headcount"): r["job"].headcount,
                tr("field.hiring_manager_id"): r["manager"],
                tr("jobs.active_applications"): r["active_applications"],
                tr("field.status"): tr(f"job_status.{r['job'].status}"),
                tr("field.created_at"): fmt_dt(r["job"].created_at),
            }
            for r in rows
        ]
    )
    if can_edit:
        job_id = row_table(
            frame,
            key="jobs_table",
            ids=[r["job"].id for r in rows],
            column_config={"id": None},
            caption=tr("jobs.click_to_edit"),
        )
        if job_id and st.session_state.get("jobs_edit_id") != job_id:
            _load(next(r["job"] for r in rows if r["job"].id == job_id))
    else:
        st.dataframe(frame, key="jobs_table", hide_index=True, width="stretch", column_config={"id": None})

if can_edit:
    saved_id = st.session_state.pop("jobs_saved_id", None)
    if saved_id:  # just saved: edit that job from now on (its widgets exist only from this run on)
        _load(next((r["job"] for r in rows if r["job"].id == saved_id), None))
    editing = st.session_state.get("jobs_edit_id")
    if editing and not any(r["job"].id == editing for r in rows):
        editing = None
    if not editing and st.session_state.get("jobs_edit_version") is not None:
        _load(None)
    if "jobs_edit_title" not in st.session_state:
        _load(None)
    st.subheader(tr("jobs.edit") if editing else tr("jobs.new"), anchor=False)
    with st.form("jobs_form"):
        slots = _fields("jobs_edit")
        b1, b2 = st.columns([1, 4])
        submitted = b1.form_submit_button(tr("common.save"), type="primary", icon=":material/save:")
    values = {f: st.session_state.get(f"jobs_edit_{f}") for f in FIELDS}
    if editing:
        current = next(r["job"] for r in rows if r["job"].id == editing)
        a1, a2, a3 = st.columns([1, 1, 3])
        if current.status != JobStatus.closed and a1.button(tr("jobs.close"), key="jobs_close", icon=":material/lock:"):
            values = {"status": JobStatus.closed.value}
            submitted = True
        if current.status != JobStatus.open and a1.button(
            tr("jobs.reopen"), key="jobs_reopen", icon=":material/lock_open:"
        ):
            values = {"status": JobStatus.open.value}
            submitted = True
        if a2.button(tr("jobs.new"), key="jobs_new", icon=":material/add:"):
            _load(None)
            st.rerun()
    if submitted:
        save, known = (
            (jobs.update_job, {"job_id": editing, "version": st.session_state["jobs_edit_version"]})
            if editing
            else (jobs.create_job, {})
        )
        act(
            save,
            actor=user,
            job_in=values,
            **known,
            where=slots,
            on={Conflict: lambda _: st.error(tr("err.conflict_job"), icon=":material/sync_problem:")},
            # The form's widgets are drawn already; their values can only be replaced before the next run draws them.
            then=lambda saved: st.session_state.update(jobs_saved_id=saved.id),
            done=lambda saved: tr_md("jobs.saved", title=saved.title),
        )
