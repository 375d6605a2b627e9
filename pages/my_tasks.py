"""My tasks: everything due for the signed-in person, most urgent first, each with a link to act."""

from __future__ import annotations

import streamlit as st

from models.common import utcnow
from services.mail import tasks
from ui.common import call, current_user, fmt_dt, stage_label, tr, trn
from ui.onboard_hires import owner_tasks_section

user = current_user()
st.title(tr("nav.my_tasks"), anchor=False)
# Onboarding tasks the person owns, ticked off here: an owner without the Onboard page (IT, a buddy) has no other.
owner_tasks_section()
now = utcnow()
items = call(tasks.my_tasks, actor=user, now=now)
if items is None:
    st.stop()
if not items:
    st.success(tr("tasks.none"), icon=":material/task_alt:")
    st.stop()
overdue = [t for t in items if t.overdue(now)]
soon = [t for t in items if not t.overdue(now)]
# My tasks lists the LIMIT most urgent: when it is full there may be more, and the counts it cannot know say so
# — the overdue come first, so theirs is exact unless every task listed is overdue ("100+"); then how many fall
# due soon is not known at all ("—", not a 0 a browser trial found misleading).
capped = len(items) >= tasks.LIMIT
m1, m2 = st.columns(2)
partial = tr("tasks.capped_help", limit=tasks.LIMIT) if capped else None  # said on each count it makes partial
m1.metric(
    tr("tasks.overdue"), f"{len(overdue)}+" if capped and not soon else len(overdue), help=None if soon else partial
)
m2.metric(tr("tasks.due_soon"), (f"{len(soon)}+" if soon else "—") if capped else len(soon), help=partial)


def _show(task: tasks.Task, late: bool) -> None:
    params = dict(task.params)
    if "stage" in params:
        params["stage"] = stage_label(params["stage"])
    with st.container(border=True):
        left, right = st.columns([5, 1], vertical_alignment="center")
        when = tr("tasks.was_due", when=fmt_dt(task.due_at)) if late else tr("tasks.due", when=fmt_dt(task.due_at))
        left.markdown(f"{':red' if late else ':orange'}[**{when}**]")
        # Names and subjects are people's text: shown as text, never as Markdown.
        title = f"task.{task.kind}"
        left.text(tr(title, **params) if task.count is None else trn(title, task.count, **params))
        right.page_link(
            task.page, label=tr("tasks.open"), icon=":material/arrow_forward:", query_params=task.query or None
        )


SHOWN = 50
for task in items[:SHOWN]:  # already most urgent first
    _show(task, task.overdue(now))
if len(items) > SHOWN:
    more = len(items) - SHOWN
    st.caption(tr("tasks.more_capped", count=more) if capped else tr("tasks.more", count=more))
