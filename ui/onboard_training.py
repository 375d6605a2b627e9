"""One new hire's training sessions (calendar invitations): the list, and for HR the forms to add, move and cancel
a session. Every change goes out as an invitation (services.onboard.training)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from models.common import utcnow
from models.onboard import TrainingSession
from services.onboard import training
from services.platform import users
from services.platform.config import get_settings
from services.platform.policy import Cap
from ui.common import act, call, can, current_user, fmt_clock, fmt_dt, row_table, tr


def _when(row: TrainingSession) -> str:
    return f"{fmt_dt(row.starts_at)}–{fmt_clock(row.ends_at)}"


def _form(key: str, people: dict[int, str], row: TrainingSession | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The session's fields (filled from `row` when moving one), as the service takes them, and a place for each
    field's message right under it."""
    tz = get_settings().tz
    local = row.starts_at.astimezone(tz) if row else (utcnow() + timedelta(days=1)).astimezone(tz)
    minutes = int((row.ends_at - row.starts_at).total_seconds() // 60) if row else 60
    slots: dict[str, Any] = {}
    title = st.text_input(tr("nh.training_title"), value=row.title if row else "", max_chars=200, key=f"{key}_title")
    slots["title"] = st.empty()
    c1, c2, c3 = st.columns(3)
    day = c1.date_input(tr("nh.training_day"), value=local.date(), key=f"{key}_day")
    start = c2.time_input(
        tr("nh.training_start"),
        value=local.time().replace(tzinfo=None) if row else time(10, 0),
        step=900,
        key=f"{key}_start",
    )
    length = c3.number_input(
        tr("nh.training_minutes"), min_value=15, max_value=600, step=15, value=minutes, key=f"{key}_minutes"
    )
    slots["starts_at"] = c1.empty()
    slots["ends_at"] = c3.empty()
    location = st.text_input(
        tr("field.location"), value=row.location if row else "", max_chars=200, key=f"{key}_location"
    )
    slots["location"] = st.empty()
    link = st.text_input(
        tr("field.meeting_link"),
        value=row.meeting_link if row else "",
        max_chars=500,
        key=f"{key}_link",
        placeholder="https://",
    )
    slots["meeting_link"] = st.empty()
    chosen = training.attendee_list(row) if row else []
    attendees = st.multiselect(
        tr("field.attendee_ids"),
        list(people),
        default=[i for i in chosen if i in people],
        format_func=lambda i: people.get(i, "?"),
        key=f"{key}_attendees",
        placeholder=tr("common.choose_many"),
        select_all=False,
    )
    slots["attendee_ids"] = st.empty()
    slots["__all__"] = st.empty()
    starts = datetime.combine(day, start, tzinfo=tz)
    values = {
        "title": title,
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=int(length)),
        "location": location,
        "meeting_link": link,
        "attendee_ids": attendees,
    }
    return values, slots


def _status(row: TrainingSession) -> str:
    if row.status == training.CANCELLED:
        return tr("nh.training_status_cancelled")
    return tr("nh.training_status_scheduled")


def _table(rows: list[TrainingSession], people: dict[int, str]) -> int | None:
    frame = pd.DataFrame(
        [
            {
                "id": r.id,
                tr("nh.training_when"): _when(r),
                tr("nh.training_title"): r.title,
                tr("field.location"): r.location or r.meeting_link,
                tr("field.attendee_ids"): ", ".join(people.get(i, "?") for i in training.attendee_list(r)),
                tr("field.status"): _status(r),
            }
            for r in rows
        ]
    )
    return row_table(
        frame,
        key="nh_tr_table",
        ids=[r.id or 0 for r in rows],
        column_config={"id": None},
        caption=tr("nh.training_click") if can(Cap.edit_plans) else None,
    )


def _change(row: TrainingSession, people: dict[int, str], user: Any) -> None:
    """Move or cancel the picked session; the form remembers the version it was drawn from."""
    if row.status == training.CANCELLED:
        st.info(tr("nh.training_is_cancelled"), icon=":material/event_busy:")
        return
    key = f"nh_tr_edit_{row.id}_{row.version}"
    with st.form(key):
        st.markdown(f"**{tr('nh.training_move')}**")
        values, where = _form(key, people, row)
        b1, b2, _ = st.columns([1, 1, 2])
        save = b1.form_submit_button(tr("nh.training_move_save"), type="primary", icon=":material/event:")
        cancel = b2.form_submit_button(tr("nh.training_cancel"), icon=":material/event_busy:")

    def change(fn: Any, done: str, **kwargs: Any) -> None:
        """Send the move or the cancellation against the version the form was drawn from; a refusal, a conflict
        (someone changed the session since) included, is said in the form."""
        act(
            fn,
            actor=user,
            training_id=row.id,
            version=row.version,
            where=where,
            done=done,
            **kwargs,
        )

    if save:
        change(training.move_session, tr("nh.training_moved"), training_in=values)
    elif cancel:
        change(training.cancel_session, tr("nh.training_was_cancelled"))


def _add(plan_id: int, people: dict[int, str], user: Any) -> None:
    n = st.session_state.get("nh_tr_new_nonce", 0)
    key = f"nh_tr_new_{n}"
    with st.expander(tr("nh.training_add"), icon=":material/add:"), st.form(key):
        values, where = _form(key, people, None)
        added = st.form_submit_button(tr("nh.training_add_send"), type="primary", icon=":material/send:")
    if added:
        act(
            training.add_session,
            actor=user,
            plan_id=plan_id,
            training_in=values,
            where=where,
            then=lambda _: st.session_state.update({"nh_tr_new_nonce": n + 1}),
            done=tr("nh.training_added"),
        )


def sessions_tab(plan_id: int) -> None:
    """The Training tab of pages/new_hire.py."""
    user = current_user()
    rows = call(training.list_sessions, actor=user, plan_id=plan_id)
    if rows is None:
        return
    people = {u.id or 0: u.name for u in call(users.list_users, actor=user, active_only=True) or []}
    st.caption(tr("nh.training_hint"))
    picked = None
    if rows:
        picked = _table(rows, people)
    else:
        st.info(tr("nh.training_none"), icon=":material/event_available:")
    if not can(Cap.edit_plans):
        return
    if picked is not None:
        row = next((r for r in rows if r.id == picked), None)
        if row is not None:
            _change(row, people, user)
    _add(plan_id, people, user)
