"""The Onboard screen's new hires: the list by start date with plan progress (opening one new hire's page); the
onboarding templates editor of the settings page (admins)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from models.onboard import OwnerRole, TaskCategory
from services.onboard import plans
from services.onboard.materials import MAX_BYTES, UPLOAD_TYPES
from services.platform import users
from services.platform.errors import Conflict
from ui.common import act, call, current_user, fmt_day, fmt_dt, lang, md_escape, row_table, show_error, tr

# Labels of the values the plans store (literal keys: the catalog checks find them).
CATEGORY_LABELS = {
    TaskCategory.document.value: "plans.cat_document",
    TaskCategory.account.value: "plans.cat_account",
    TaskCategory.equipment.value: "plans.cat_equipment",
    TaskCategory.training.value: "plans.cat_training",
    TaskCategory.check_in.value: "plans.cat_check_in",
    TaskCategory.other.value: "plans.cat_other",
}
OWNER_LABELS = {
    OwnerRole.recruiter.value: "plans.owner_recruiter",
    OwnerRole.hiring_manager.value: "plans.owner_hiring_manager",
    OwnerRole.person.value: "plans.owner_person",
    OwnerRole.buddy.value: "plans.owner_buddy",
    OwnerRole.new_hire.value: "plans.owner_new_hire",
}
STATUS_LABELS = {
    "active": "plans.status_active",
    "extended": "plans.status_extended",
    "passed": "plans.status_passed",
    "not_passed": "plans.status_not_passed",
    "cancelled": "plans.status_cancelled",
}


def label(mapping: dict[str, str], value: str) -> str:
    key = mapping.get(value)
    return tr(key) if key else value


# --------------------------------------------------------------------------- new hires
def hires_section() -> None:
    """The New hires tab of pages/onboard.py: new hires by start date, progress, overdue, next training and
    check-in; a click opens the new hire's page."""
    user = current_user()
    closed = st.toggle(tr("plans.show_closed"), key="hires_closed")
    rows = call(plans.list_plans, actor=user, include_closed=closed)
    if rows is None:
        return
    if not rows:
        st.info(tr("plans.none"), icon=":material/badge:")
        return
    frame = pd.DataFrame(
        [
            {
                tr("field.name"): r.name,
                tr("plans.job"): r.job_title,
                tr("field.start_date"): fmt_day(r.start_date),
                tr("plans.progress"): f"{r.done}/{r.total}",
                tr("plans.overdue"): r.overdue,
                tr("plans.next_training"): fmt_dt(r.next_training),
                tr("plans.next_check_in"): fmt_day(r.next_check_in) if r.next_check_in else "",
                tr("plans.probation_end"): fmt_day(r.probation_end),
                tr("plans.status"): label(STATUS_LABELS, r.status),
            }
            for r in rows
        ]
    )
    picked = row_table(frame, key="hires_table", ids=[r.plan_id for r in rows], caption=tr("plans.click_to_open"))
    if picked:
        st.switch_page("pages/new_hire.py", query_params={"plan": str(picked)})


# --------------------------------------------------------------------------- templates
def _people() -> list[tuple[int, str]]:
    user = current_user()
    found = call(users.list_users, actor=user, active_only=True) or []
    return [(u.id, u.name) for u in found if u.id is not None and u.roles]


def _seed(view: plans.TemplateView) -> None:
    """Put the saved template into the settings form (on opening it, and after each save)."""
    t = view.template
    st.session_state.update(
        tpl_loaded=t.id,
        tpl_version=t.version,
        tpl_days=t.checkin_days,
        tpl_welcome=t.welcome_days_before,
        tpl_checklist_seed=view.checklist,
        tpl_checklist_gen=st.session_state.get("tpl_checklist_gen", 0) + 1,
    )


def _reload(_: object = None) -> None:
    st.session_state["tpl_loaded"] = None


def _conflict(slots: dict[str, Any]) -> Any:
    def handle(exc: Conflict) -> None:
        show_error(exc, slots)
        if isinstance(exc.current, int):  # saving again now replaces what the other person saved
            st.session_state["tpl_version"] = exc.current

    return handle


def templates_section() -> None:
    """The onboarding templates editor on pages/onboard_settings.py (admins): per department, with a default; the
    tasks (add, edit, remove, reorder, attach a file), the checklist and the check-in days."""
    user = current_user()
    templates = call(plans.list_templates, actor=user)
    if templates is None:
        return
    names = {t.id: (t.department or tr("plans.default_template")) for t in templates}
    ids = [t.id for t in templates]
    chosen = st.selectbox(tr("plans.template"), ids, format_func=lambda i: names.get(i, ""), key="tpl_pick")
    with st.expander(tr("plans.new_template"), icon=":material/add:"):
        with st.form("tpl_new_form"):
            dept = st.text_input(tr("field.department"), key="tpl_new_department", max_chars=80)
            slot_dept = st.empty()
            made = st.form_submit_button(tr("plans.create_template"), icon=":material/add:")
        if made:
            act(
                plans.create_template,
                actor=user,
                department=dept,
                where={"department": slot_dept},
                done=tr("plans.template_created"),
            )
    if chosen is None:
        return
    view = call(plans.get_template, actor=user, template_id=chosen)
    if view is None:
        return
    if st.session_state.get("tpl_loaded") != view.template.id:
        _seed(view)
        reopen = st.session_state.pop("tpl_reopen", None)
        _load_task(next((t for t in view.tasks if t.id == reopen), None))
    _settings_form(user, view)
    _tasks_editor(user, view)


def _settings_form(user: Any, view: plans.TemplateView) -> None:
    st.subheader(tr("plans.settings"), anchor=False)
    seed = st.session_state["tpl_checklist_seed"]
    with st.form("tpl_settings_form"):
        c1, c2 = st.columns(2)
        days = c1.text_input(
            tr("field.checkin_days"), key="tpl_days", max_chars=100, help=tr("plans.checkin_days_help")
        )
        welcome = c2.number_input(tr("field.welcome_days_before"), 0, 60, key="tpl_welcome", step=1)
        slots = {"checkin_days": c1.empty(), "welcome_days_before": c2.empty()}
        st.markdown(f"**{tr('field.checklist')}**")
        edited = st.data_editor(
            pd.DataFrame(
                {
                    "zh": pd.Series([i["zh"] for i in seed], dtype="str"),
                    "en": pd.Series([i["en"] for i in seed], dtype="str"),
                }
            ),
            num_rows="dynamic",
            key=f"tpl_checklist_{st.session_state['tpl_checklist_gen']}",
            width="stretch",
            column_config={
                "zh": st.column_config.TextColumn(tr("plans.label_zh"), max_chars=200),
                "en": st.column_config.TextColumn(tr("plans.label_en"), max_chars=200),
            },
        )
        slots["checklist"] = st.empty()
        slots["__all__"] = st.empty()
        saved = st.form_submit_button(tr("common.save"), type="primary", icon=":material/save:")
    if saved:
        items = [
            {"zh": r.get("zh") or "", "en": r.get("en") or ""}
            for r in edited.to_dict("records")
            if (isinstance(r.get("zh"), str) and r["zh"].strip()) or (isinstance(r.get("en"), str) and r["en"].strip())
        ]
        act(
            plans.save_template,
            actor=user,
            template_id=view.template.id,
            version=st.session_state["tpl_version"],
            settings_in={"checkin_days": days, "welcome_days_before": welcome, "checklist": items},
            where=slots,
            on={Conflict: _conflict(slots)},
            then=_reload,
            done=tr("plans.template_saved"),
        )


def _tasks_editor(user: Any, view: plans.TemplateView) -> None:
    st.subheader(tr("plans.tasks"), anchor=False)
    zh = lang() == "zh"
    people = dict(_people())
    tasks = view.tasks
    if tasks:
        frame = pd.DataFrame(
            [
                {
                    "#": n + 1,
                    tr("plans.task"): t.title_zh if zh else t.title_en,
                    tr("field.category"): label(CATEGORY_LABELS, t.category),
                    tr("field.owner_role"): label(OWNER_LABELS, t.owner_role)
                    + (f" · {people.get(t.owner_user_id, '')}" if t.owner_user_id else ""),
                    tr("field.due_offset_days"): t.due_offset_days,
                    tr("field.link_url"): t.link_url,
                    tr("field.material_id"): "✓" if t.material_id else "",
                }
                for n, t in enumerate(tasks)
            ]
        )
        picked = row_table(frame, key="tpl_tasks", ids=[t.id or 0 for t in tasks], caption=tr("plans.click_to_edit"))
        if picked and picked != st.session_state.get("tpl_task"):
            _load_task(next(t for t in tasks if t.id == picked))
    else:
        st.info(tr("plans.no_tasks"), icon=":material/checklist:")
    editing = st.session_state.get("tpl_task")
    current = next((t for t in tasks if t.id == editing), None)
    if current is None and editing is not None:
        st.session_state["tpl_task"] = editing = None
    if "tpl_t_title_zh" not in st.session_state:
        _load_task(None)
    version = st.session_state["tpl_version"]
    st.markdown(f"**{tr('plans.edit_task') if current else tr('plans.add_task')}**")
    roles = ["", *OWNER_LABELS]
    with st.form("tpl_task_form"):
        a, b = st.columns(2)
        title_zh = a.text_input(tr("field.title_zh"), key="tpl_t_title_zh", max_chars=200)
        title_en = b.text_input(tr("field.title_en"), key="tpl_t_title_en", max_chars=200)
        slots = {"title_zh": a.empty(), "title_en": b.empty()}
        c, d, e = st.columns(3)
        category = c.selectbox(
            tr("field.category"),
            list(CATEGORY_LABELS),
            key="tpl_t_category",
            format_func=lambda v: label(CATEGORY_LABELS, v),
        )
        role = d.selectbox(
            tr("field.owner_role"),
            roles,
            key="tpl_t_owner_role",
            format_func=lambda v: label(OWNER_LABELS, v) if v else "—",
        )
        owner = e.selectbox(
            tr("field.owner_user_id"),
            [0, *people],
            key="tpl_t_owner_user_id",
            format_func=lambda v: people.get(v, "—"),
            help=tr("plans.owner_person_help"),
        )
        slots |= {"category": c.empty(), "owner_role": d.empty(), "owner_user_id": e.empty()}
        f, g = st.columns([1, 3])
        offset = f.number_input(tr("field.due_offset_days"), -90, 365, key="tpl_t_offset", step=1)
        link = g.text_input(tr("field.link_url"), key="tpl_t_link", max_chars=500, placeholder="https://")
        slots |= {"due_offset_days": f.empty(), "link_url": g.empty(), "__all__": st.empty()}
        saved = st.form_submit_button(tr("common.save"), type="primary", icon=":material/save:")
    if saved:
        task_in = {
            "title_zh": title_zh,
            "title_en": title_en,
            "category": category,
            "owner_role": role,
            "owner_user_id": owner or None,
            "due_offset_days": offset,
            "link_url": link,
            "material_id": current.material_id if current else None,
        }
        if current is not None:
            act(
                plans.update_template_task,
                actor=user,
                task_id=current.id,
                version=version,
                task_in=task_in,
                where=slots,
                on={Conflict: _conflict(slots)},
                then=_keep(current.id),
                done=tr("plans.task_saved"),
            )
        else:
            act(
                plans.add_template_task,
                actor=user,
                template_id=view.template.id,
                version=version,
                task_in=task_in,
                where=slots,
                on={Conflict: _conflict(slots)},
                then=_reload,
                done=tr("plans.task_saved"),
            )
    if current is None:
        return
    b1, b2, b3, b4 = st.columns(4)
    if b1.button(tr("plans.move_up"), key="tpl_up", icon=":material/arrow_upward:"):
        act(plans.move_template_task, actor=user, task_id=current.id, version=version, up=True, then=_keep(current.id))
    if b2.button(tr("plans.move_down"), key="tpl_down", icon=":material/arrow_downward:"):
        act(plans.move_template_task, actor=user, task_id=current.id, version=version, up=False, then=_keep(current.id))
    if b3.button(tr("plans.remove_task"), key="tpl_remove", icon=":material/delete:"):
        act(
            plans.remove_template_task,
            actor=user,
            task_id=current.id,
            version=version,
            then=_reload,
            done=tr("plans.task_removed"),
        )
    b4.button(tr("plans.new_task"), key="tpl_new_task", icon=":material/add:", on_click=_load_task, args=(None,))
    upload = st.file_uploader(
        tr("plans.attach"),
        key="tpl_upload",
        help=tr("plans.attach_help"),
        type=UPLOAD_TYPES,  # the drop zone's limits line then matches what the service accepts
        max_upload_size=MAX_BYTES // (1024 * 1024),
    )
    slot_file = st.empty()
    if upload is not None and st.button(tr("plans.attach_button"), key="tpl_attach", icon=":material/attach_file:"):
        act(
            plans.attach_template_material,
            actor=user,
            task_id=current.id,
            version=version,
            filename=upload.name,
            content=upload.getvalue(),
            where={"file": slot_file},
            then=_keep(current.id),
            done=tr("plans.attached"),
        )


def _keep(task_id: int | None) -> Any:
    """After a change: the template read again, the same task still open in the form."""

    def then(_: object) -> None:
        _reload()
        st.session_state["tpl_reopen"] = task_id

    return then


def _load_task(task: Any) -> None:
    """Put a template task (or a blank one) into the task form."""
    st.session_state.update(
        tpl_task=task.id if task else None,
        tpl_t_title_zh=task.title_zh if task else "",
        tpl_t_title_en=task.title_en if task else "",
        tpl_t_category=task.category if task else TaskCategory.other.value,
        tpl_t_owner_role=task.owner_role if task else "",
        tpl_t_owner_user_id=(task.owner_user_id or 0) if task else 0,
        tpl_t_offset=task.due_offset_days if task else 0,
        tpl_t_link=task.link_url if task else "",
    )


# --------------------------------------------------------------------------- a task owner's own onboarding tasks
def owner_tasks_section() -> None:
    """The onboarding tasks the signed-in person owns, with tick boxes: for My tasks, so that an owner without the
    Onboard page (IT, a buddy) ticks theirs off."""
    user = current_user()
    owned = call(plans.my_plan_tasks, actor=user) or []
    if not owned:
        return
    zh = lang() == "zh"
    st.subheader(tr("plans.my_tasks"), anchor=False)
    for item in owned:
        task = item.task
        title = task.title_zh if zh else task.title_en
        text = f"{title} · {item.name} · {item.job_title} · {fmt_day(task.due_date)}"
        if st.checkbox(md_escape(text), value=False, key=f"mytasks_plan_task_{task.id}"):
            act(plans.tick_task, actor=user, task_id=task.id, ticked=True, done=tr("plans.ticked"))
