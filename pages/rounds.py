"""Rounds and criteria (admin): each round's bar and criteria with weights and what a 1, 3 and 5 look like;
a job can override a round's criteria."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.evaluate import evaluation
from services.pipeline import jobs
from ui.common import act, call, current_user, db, lang, show_flash, tr

user = current_user()
st.title(tr("nav.rounds"), anchor=False)
show_flash()
zh = lang() == "zh"
rounds = call(evaluation.list_rounds, actor=user, active_only=False) or []
if not rounds:
    st.stop()
names = {
    r.id: (r.name_zh if zh else r.name_en) + ("" if r.is_active else f" ({tr('rounds.inactive')})") for r in rounds
}
if "rounds_pick_next" in st.session_state:  # a round just added opens (set before its widget is drawn)
    st.session_state["rounds_pick"] = st.session_state.pop("rounds_pick_next")
round_id = st.selectbox(tr("iv.round"), list(names), format_func=names.get, key="rounds_pick")
rnd = next(r for r in rounds if r.id == round_id)
job_rows = call(jobs.list_jobs, actor=user) or []
job_names = {r["job"].id: r["job"].title for r in job_rows}
job_id = st.selectbox(
    tr("rounds.criteria_for"),
    [None, *job_names],
    key="rounds_job",
    format_func=lambda j: job_names.get(j, "") if j else tr("rounds.all_jobs"),
    placeholder=tr("rounds.all_jobs"),
)

with st.expander(tr("rounds.edit_round"), icon=":material/tune:"), st.form(f"rounds_round_{rnd.id}"):
    c1, c2 = st.columns(2)
    name_zh = c1.text_input(tr("rounds.name_zh"), value=rnd.name_zh, max_chars=60, key=f"rounds_zh_{rnd.id}")
    name_en = c2.text_input(tr("rounds.name_en"), value=rnd.name_en, max_chars=60, key=f"rounds_en_{rnd.id}")
    c3, c4, c5 = st.columns(3)
    bar = c3.number_input(
        tr("db.bar"),
        min_value=1.0,
        max_value=5.0,
        step=0.1,
        value=float(rnd.bar),
        key=f"rounds_bar_{rnd.id}",
        help=tr("help.bar"),
    )
    position = c4.number_input(
        tr("rounds.position"), min_value=0, max_value=100, value=rnd.position, key=f"rounds_pos_{rnd.id}"
    )
    active = c5.checkbox(tr("field.is_active"), value=rnd.is_active, key=f"rounds_active_{rnd.id}")
    slot = st.empty()
    if st.form_submit_button(tr("common.save"), type="primary", icon=":material/save:"):
        act(
            evaluation.save_round,
            actor=user,
            round_id=rnd.id,
            is_active=active,
            round_in={"name_zh": name_zh, "name_en": name_en, "bar": bar, "position": position},
            where={"__all__": slot},
            done=tr("rounds.saved"),
        )

with db() as session:
    criteria = evaluation.criteria_for(session=session, round_id=rnd.id, job_id=job_id)
overriding = job_id is not None and any(c.job_id == job_id for c in criteria)
if job_id is not None and not overriding:
    st.info(tr("rounds.no_override"), icon=":material/info:")
st.dataframe(
    pd.DataFrame(
        [
            {
                tr("db.criterion"): c.name_zh if zh else c.name_en,
                tr("rounds.weight"): c.weight,
                "1": c.level1_zh if zh else c.level1_en,
                "3": c.level3_zh if zh else c.level3_en,
                "5": c.level5_zh if zh else c.level5_en,
            }
            for c in criteria
        ]
    ),
    hide_index=True,
    width="stretch",
    key="rounds_criteria",
)

editable = [c for c in criteria if c.job_id == job_id]
options = {None: tr("rounds.new_criterion"), **{c.id: c.name_zh if zh else c.name_en for c in editable}}
pick_key = f"rounds_crit_pick_{rnd.id}_{job_id}"  # one per round and job: another's criterion is never picked here
if st.session_state.pop("rounds_crit_reset", False):  # the criterion just retired is no longer listed
    st.session_state.pop(pick_key, None)
chosen = st.selectbox(tr("rounds.edit_criterion"), list(options), format_func=options.get, key=pick_key)
current = next((c for c in editable if c.id == chosen), None)
fields = ["name_zh", "name_en", "level1_zh", "level1_en", "level3_zh", "level3_en", "level5_zh", "level5_en"]
# A new form (new widget keys) after every save: a criterion just added is not left in the boxes to be added again.
n = st.session_state.get("rounds_crit_nonce", 0)
form_id = f"rounds_crit_{rnd.id}_{job_id}_{chosen}_{n}"
with st.form(form_id):
    values = {}
    for left, right in zip(fields[::2], fields[1::2], strict=True):
        c1, c2 = st.columns(2)
        values[left] = c1.text_input(
            tr(f"rounds.{left}"), value=getattr(current, left, ""), max_chars=300, key=f"{form_id}_{left}"
        )
        values[right] = c2.text_input(
            tr(f"rounds.{right}"), value=getattr(current, right, ""), max_chars=300, key=f"{form_id}_{right}"
        )
    values["weight"] = st.number_input(
        tr("rounds.weight"),
        min_value=0.1,
        max_value=10.0,
        step=0.5,
        value=float(getattr(current, "weight", 1.0)),
        key=f"{form_id}_weight",
    )
    slot = st.empty()
    b1, b2, _ = st.columns([1, 1, 3])
    save = b1.form_submit_button(tr("common.save"), type="primary", icon=":material/save:")
    remove = current is not None and b2.form_submit_button(tr("rounds.remove"), icon=":material/delete:")
if save or remove:

    def _changed(_: object) -> None:
        st.session_state["rounds_crit_nonce"] = n + 1
        if remove:
            st.session_state["rounds_crit_reset"] = True

    change, args = (
        (evaluation.remove_criterion, {"criterion_id": current.id})
        if remove
        else (
            evaluation.save_criterion,
            {"round_id": rnd.id, "job_id": job_id, "criterion_id": chosen, "criterion_in": values},
        )
    )
    act(
        change,
        actor=user,
        **args,
        where={"__all__": slot},
        then=_changed,
        done=tr("rounds.criterion_added") if chosen is None and not remove else tr("rounds.saved"),
    )

st.divider()
r = st.session_state.get("rounds_new_nonce", 0)
with st.expander(tr("rounds.new_round"), icon=":material/add:"), st.form(f"rounds_new_{r}"):
    c1, c2 = st.columns(2)
    new_zh = c1.text_input(tr("rounds.name_zh"), max_chars=60, key=f"rounds_new_zh_{r}")
    new_en = c2.text_input(tr("rounds.name_en"), max_chars=60, key=f"rounds_new_en_{r}")
    c3, c4 = st.columns(2)
    new_bar = c3.number_input(
        tr("db.bar"), min_value=1.0, max_value=5.0, step=0.1, value=3.0, key=f"rounds_new_bar_{r}", help=tr("help.bar")
    )
    new_pos = c4.number_input(
        tr("rounds.position"),
        min_value=0,
        max_value=100,
        value=min(max((x.position for x in rounds), default=-1) + 1, 100),
        key=f"rounds_new_pos_{r}",
    )
    new_slot = st.empty()
    if st.form_submit_button(tr("rounds.new_round"), type="primary", icon=":material/add:"):
        act(
            evaluation.save_round,
            actor=user,
            round_in={"name_zh": new_zh, "name_en": new_en, "bar": new_bar, "position": new_pos},
            where={"__all__": new_slot, "name_zh": new_slot, "name_en": new_slot},
            # The new round opens, to add its criteria.
            then=lambda added: st.session_state.update(rounds_new_nonce=r + 1, rounds_pick_next=added.id),
            done=tr("rounds.added"),
        )
