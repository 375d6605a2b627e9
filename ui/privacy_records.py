"""Requests to see or erase data, exports, and records of who looked at whose data."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from models.privacy import AccessAction, RequestKind, RequestLaw
from services.pipeline import candidates
from services.pipeline.candidates import CandidateDetail
from services.platform import users
from services.platform.policy import Cap
from services.privacy import access_log, export, privacy_requests
from ui.common import act, call, can, current_user, fmt_day, fmt_dt, row_table, tr

VIEW_STATE = "cand_viewed_at"  # candidate id -> when this browser session last recorded opening them
VIEW_AGAIN_AFTER = 30 * 60  # seconds: reruns of an open page are one look; a look after this long is another


# --------------------------------------------------------------------------- labels
def _kind(kind: str) -> str:
    return tr("records.kind_erasure") if kind == RequestKind.erasure else tr("records.kind_access")


def _law(law: str) -> str:
    return tr("records.law_gdpr") if law == RequestLaw.gdpr else tr("records.law_pipl")


def _action(action: str) -> str:
    labels = {
        AccessAction.view: tr("records.action_view"),
        AccessAction.export: tr("records.action_export"),
        AccessAction.erase: tr("records.action_erase"),
    }
    return labels.get(AccessAction(action), action)


def _today() -> date:
    return privacy_requests.today()


# --------------------------------------------------------------------------- who opened whose page
def record_view(detail: CandidateDetail) -> None:
    """Record that the signed-in person opened this candidate's page: once per opening, not on every rerun (a
    second record when they are still or again on it half an hour later)."""
    cid = detail.candidate.id or 0
    seen: dict[int, float] = st.session_state.setdefault(VIEW_STATE, {})
    now = time.monotonic()
    if cid in seen and now - seen[cid] < VIEW_AGAIN_AFTER:
        return
    seen[cid] = now  # before the call: a failure is not retried on every rerun
    call(access_log.record_access, actor=current_user(), candidate_id=cid, action=AccessAction.view)


# --------------------------------------------------------------------------- request tables and forms
def _request_frame(rows: list[privacy_requests.RequestRow], *, person: bool, answered: bool) -> pd.DataFrame:
    today = _today()
    out = []
    for r in rows:
        item: dict[str, Any] = {}
        if person:
            item[tr("records.col_candidate")] = r.candidate
        item |= {
            tr("records.col_kind"): _kind(r.kind),
            tr("records.col_law"): _law(r.law),
            tr("field.received_on"): fmt_day(r.received_on),
            tr("records.col_due"): fmt_day(r.due_on),
        }
        if answered:
            item[tr("records.col_answered")] = f"{fmt_dt(r.answered_at)} · {r.answered_by or tr('common.system')}"
            item[tr("records.col_answer")] = r.answer
        else:
            item[tr("records.col_state")] = tr("records.overdue") if r.overdue(today) else tr("records.open")
            item[tr("records.col_logged_by")] = r.logged_by
        item[tr("records.col_note")] = r.note
        out.append(item)
    return pd.DataFrame(out)


def _deadline_help() -> None:
    st.caption(tr("records.deadline_help", days=privacy_requests.PIPL_DAYS))


def _log_form(prefix: str, candidate_id: int | None) -> None:
    """Log a request for `candidate_id` (the candidate's tab) or for a person searched here (the Privacy page)."""
    # Once logged, the form starts afresh (new keys): a second click must not log the same request again.
    n = st.session_state.get(f"{prefix}_log_nonce", 0)
    with st.form(f"{prefix}_log_form_{n}", clear_on_submit=False):
        picked = candidate_id
        slot_who = st.empty()
        if candidate_id is None:
            found = st.session_state.get(f"{prefix}_log_found") or []
            options = [row["id"] for row in found]
            labels = {row["id"]: f"{row['name']} · {row['email']}".strip(" ·") for row in found}
            if options and st.session_state.get(f"{prefix}_log_who_{n}") not in options:
                st.session_state.pop(f"{prefix}_log_who_{n}", None)
            picked = st.selectbox(
                tr("records.col_candidate"),
                options,
                format_func=lambda i: labels.get(i, str(i)),
                key=f"{prefix}_log_who_{n}",
                index=None,
                placeholder=tr("records.search_first"),
            )
        c1, c2, c3 = st.columns(3)
        kind = c1.radio(
            tr("records.col_kind"),
            [k.value for k in RequestKind],
            format_func=_kind,
            key=f"{prefix}_log_kind_{n}",
            horizontal=True,
        )
        law = c2.radio(
            tr("field.law"),
            [law.value for law in RequestLaw],
            format_func=_law,
            key=f"{prefix}_log_law_{n}",
            horizontal=True,
        )
        received = c3.date_input(
            tr("field.received_on"), value=_today(), max_value=_today(), key=f"{prefix}_log_received_{n}"
        )
        slot_received = st.empty()
        note = st.text_area(tr("field.note"), key=f"{prefix}_log_note_{n}", max_chars=2000, height=80)
        slot_note = st.empty()
        _deadline_help()
        if st.form_submit_button(tr("records.log_request"), icon=":material/add:"):
            if picked is None:
                slot_who.error(tr("records.pick_candidate"), icon=":material/error:")
                return
            act(
                privacy_requests.log_request,
                actor=current_user(),
                request_in={
                    "candidate_id": picked,
                    "kind": kind,
                    "law": law,
                    "received_on": received,
                    "note": note,
                },
                where={"received_on": slot_received, "note": slot_note, "__all__": slot_who},
                then=lambda _: st.session_state.update({f"{prefix}_log_nonce": n + 1}),
                done=lambda row: tr("records.logged", due=fmt_day(row.due_on)),
            )


def _answer_form(prefix: str, row: privacy_requests.RequestRow) -> None:
    st.markdown(f"**{tr('records.answer_title')}**")
    st.text(f"{row.candidate} · {_kind(row.kind)} · {_law(row.law)} · {tr('records.col_due')}: {fmt_day(row.due_on)}")
    if row.kind == RequestKind.erasure:
        st.info(tr("records.erasure_hint"), icon=":material/info:")
    else:
        st.info(tr("records.access_hint"), icon=":material/info:")
    # An access request answered by the export made in this browser session: what was done, written for them.
    made = st.session_state.get(f"cand_privacy_export_{row.candidate_id}")
    sent = tr("records.answer_export_sent", file=made.html_name) if made and row.kind == RequestKind.access else ""
    with st.form(f"{prefix}_answer_form_{row.id}"):
        answer = st.text_area(
            tr("records.answer"), value=sent, key=f"{prefix}_answer_{row.id}", max_chars=2000, height=80
        )
        slot = st.empty()
        if st.form_submit_button(
            tr("records.mark_answered"), icon=":material/task_alt:", key=f"{prefix}_answer_go_{row.id}"
        ):
            act(
                privacy_requests.answer_request,
                actor=current_user(),
                request_id=row.id,
                answer=answer,
                where={"answer": slot, "__all__": slot},
                done=tr("records.answered"),
            )


def _requests(prefix: str, candidate_id: int | None) -> None:
    rows = call(privacy_requests.list_requests, actor=current_user(), candidate_id=candidate_id)
    if rows is None:
        return
    open_rows = [r for r in rows if r.answered_at is None]
    done_rows = [r for r in rows if r.answered_at is not None]
    st.markdown(f"**{tr('records.open_requests')}**")
    answering = st.session_state.get(f"{prefix}_answering")
    chosen = None
    if open_rows:
        picked = row_table(
            _request_frame(open_rows, person=candidate_id is None, answered=False),
            key=f"{prefix}_open",
            ids=[r.id for r in open_rows],
            caption=tr("records.pick_to_answer"),
        )
        chosen = next((r for r in open_rows if r.id == picked), None)
        if chosen is not None:
            st.session_state[f"{prefix}_answering"] = chosen.id
            _answer_form(prefix, chosen)
    else:
        st.info(tr("records.no_open_requests"), icon=":material/task_alt:")
    # Answered meanwhile (another admin, another tab) while this one was typing: the click still reaches the
    # service, which says when and by whom, and what was typed stays on the screen (it used to vanish unsaid).
    if chosen is None and answering is not None and st.session_state.get(f"{prefix}_answer_go_{answering}"):
        late = next((r for r in done_rows if r.id == answering), None)
        if late is not None:
            _answer_form(prefix, late)
    st.markdown(f"**{tr('records.answered_requests')}**")
    if done_rows:
        st.dataframe(
            _request_frame(done_rows, person=candidate_id is None, answered=True),
            hide_index=True,
            width="stretch",
            key=f"{prefix}_answered_table",
        )
    else:
        st.caption(tr("records.no_answered_requests"))


def requests_section() -> None:
    """The Privacy page's requests tab: log a request (a person found by name, email or phone), the open ones by
    due date (a row opens its answer form) and those answered."""
    if not can(Cap.manage_privacy):
        return
    st.subheader(tr("records.requests_title"), anchor=False)
    with st.expander(tr("records.log_request"), icon=":material/add:"):
        q1, q2 = st.columns([3, 1], vertical_alignment="bottom")
        query = q1.text_input(tr("records.search_person"), key="privacy_req_search", max_chars=100)
        if q2.button(tr("records.search"), key="privacy_req_search_go", icon=":material/search:"):
            result = call(candidates.search_candidates, actor=current_user(), q=query, page_size=25)
            st.session_state["privacy_req_log_found"] = result.rows if result else []
            if result is not None and not result.rows:
                st.info(tr("records.nobody_found"), icon=":material/person_search:")
        _log_form("privacy_req", None)
    _requests("privacy_req", None)


# --------------------------------------------------------------------------- records of access
def _access_frame(rows: list[access_log.AccessRow], *, person: bool) -> pd.DataFrame:
    out = []
    for r in rows:
        item = {tr("common.when"): fmt_dt(r.at), tr("common.who"): r.user or tr("common.system")}
        if person:
            item[tr("records.col_candidate")] = r.candidate
        item[tr("common.action")] = _action(r.action)
        out.append(item)
    return pd.DataFrame(out)


def access_section() -> None:
    """The Privacy page's access tab: who opened or exported whose record, filtered by person, user and period;
    and how long these records are kept."""
    if not can(Cap.manage_privacy):
        return
    user = current_user()
    st.subheader(tr("records.access_title"), anchor=False)
    st.caption(tr("records.access_help"))
    people = call(users.list_users, actor=user) or []
    names = {u.id: u.name for u in people if u.id is not None}
    f1, f2 = st.columns(2)
    who = f1.text_input(tr("records.filter_candidate"), key="privacy_acc_candidate", max_chars=100)
    if st.session_state.get("privacy_acc_user") not in [None, *names]:
        st.session_state.pop("privacy_acc_user", None)
    by = f2.selectbox(
        tr("records.filter_user"),
        list(names),
        format_func=lambda i: names.get(i, str(i)),
        index=None,
        placeholder=tr("records.everyone"),
        key="privacy_acc_user",
    )
    d1, d2 = st.columns(2)
    start = d1.date_input(tr("records.from"), value=_today() - timedelta(days=30), key="privacy_acc_from")
    end = d2.date_input(tr("records.to"), value=_today(), key="privacy_acc_to")
    rows = call(
        access_log.list_access,
        actor=user,
        candidate_text=who,
        user_id=by,
        start=start if isinstance(start, date) else None,
        end=end if isinstance(end, date) else None,
    )
    if rows is not None:
        if rows:
            st.dataframe(_access_frame(rows, person=True), hide_index=True, width="stretch", key="privacy_acc_table")
            if len(rows) >= access_log.LIST_LIMIT:
                st.caption(tr("records.access_capped", limit=access_log.LIST_LIMIT))
        else:
            st.info(tr("records.no_access"), icon=":material/visibility_off:")
    months = call(access_log.access_keep_months, actor=user)
    with st.form("privacy_acc_keep_form"):
        value = st.number_input(
            tr("records.keep_months"),
            min_value=access_log.MIN_KEEP_MONTHS,
            max_value=access_log.MAX_KEEP_MONTHS,
            value=months or access_log.DEFAULT_KEEP_MONTHS,
            step=1,
            key="privacy_acc_keep",
        )
        st.caption(tr("records.keep_help", min=access_log.MIN_KEEP_MONTHS, max=access_log.MAX_KEEP_MONTHS))
        slot = st.empty()
        if st.form_submit_button(tr("common.save"), icon=":material/save:"):
            act(
                access_log.set_access_keep_months,
                actor=user,
                months=value,
                where={"months": slot, "__all__": slot},
                done=tr("records.keep_saved"),
            )


# --------------------------------------------------------------------------- the candidate's Privacy tab
def _export(cid: int) -> None:
    state = f"cand_privacy_export_{cid}"
    st.markdown(f"**{tr('records.export_title')}**")
    st.caption(tr("records.export_help"))
    if st.button(tr("records.prepare_export"), key=f"cand_privacy_prepare_{cid}", icon=":material/download:"):
        made = call(export.export_candidate, actor=current_user(), candidate_id=cid)
        if made is not None:
            st.session_state[state] = made
    made = st.session_state.get(state)
    if made is None:
        return
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        tr("records.download_html"),
        data=made.html,
        file_name=made.html_name,
        mime="text/html",
        key=f"cand_privacy_html_{cid}",
        on_click="ignore",
        icon=":material/description:",
    )
    c2.download_button(
        tr("records.download_json"),
        data=made.json,
        file_name=made.json_name,
        mime="application/json",
        key=f"cand_privacy_json_{cid}",
        on_click="ignore",
        icon=":material/data_object:",
    )
    if made.other_html:  # the readable page in the other language too: the person may read theirs
        c3.download_button(
            tr("records.download_html_in", language=export.LANGUAGE_NAMES[made.other_language]),
            data=made.other_html,
            file_name=made.other_html_name,
            mime="text/html",
            key=f"cand_privacy_html_other_{cid}",
            on_click="ignore",
            icon=":material/translate:",
        )


def candidate_records(detail: CandidateDetail) -> None:
    """The candidate page's export, requests and who looked (admins only)."""
    if not can(Cap.manage_privacy):
        return
    cid = detail.candidate.id or 0
    st.divider()
    _export(cid)
    st.markdown(f"### {tr('records.requests_title')}")
    with st.expander(tr("records.log_request"), icon=":material/add:"):
        _log_form(f"cand_privacy_req_{cid}", cid)
    _requests(f"cand_privacy_req_{cid}", cid)
    st.markdown(f"**{tr('records.who_looked')}**")
    rows = call(access_log.list_access, actor=current_user(), candidate_id=cid, limit=200)
    if rows:
        st.dataframe(_access_frame(rows, person=False), hide_index=True, width="stretch", key=f"cand_privacy_acc_{cid}")
    elif rows is not None:
        st.caption(tr("records.no_access"))
