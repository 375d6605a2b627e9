"""Candidates: search and filter, create, and a detail view with edit, stages, timeline and audit trail."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from models.candidate import SOURCES, Candidate
from models.common import Role, Stage, tag_list, utcnow
from services.pipeline import candidates
from services.platform import users
from services.platform.config import get_settings
from services.platform.errors import Conflict, DomainError
from services.platform.policy import Cap
from ui.candidate_form import load_into_state, render_fields
from ui.common import (
    act,
    call,
    can,
    current_user,
    db,
    fmt_dt,
    lang,
    md_escape,
    row_table,
    show_flash,
    stage_label,
    tr,
    tr_md,
    trn,
)
from ui.privacy_consent import candidate_consent
from ui.privacy_records import candidate_records, record_view
from ui.privacy_retention import candidate_retention

user = current_user()
can_edit = can(Cap.edit_candidates)


def _options() -> tuple[dict[int, str], dict[int, str]]:
    """Recruiters (possible owners) and jobs for the pickers."""
    with db() as session:
        owners = {
            u.id: u.name for u in users.list_users(session=session, actor=user, role=Role.recruiter, active_only=True)
        }
        # A hiring manager filters by the jobs they manage only (the service refuses others anyway).
        job_rows = (
            {
                j.id: f"{j.title} · {j.department}".rstrip(" ·")
                for j in candidates.filter_jobs(session=session, actor=user)
            }
            if can(Cap.view_candidates)
            else {}
        )
    return owners, job_rows


owners, job_names = _options()


def _open(candidate_id: int | None) -> None:
    st.session_state["cand_selected"] = candidate_id
    st.session_state.pop("cand_edit_loaded", None)
    st.session_state.pop("cand_conflict", None)
    if candidate_id:
        st.query_params["id"] = str(candidate_id)
    else:
        st.query_params.pop("id", None)


# The address (?id=) decides which candidate is open, so links from My tasks and mail open the right one.
_linked = st.query_params.get("id", "")
if _linked.isdigit() and st.session_state.get("cand_selected") != int(_linked):
    _open(int(_linked))
elif not _linked and st.session_state.get("cand_selected"):
    _open(None)


def _duplicate_notice(exc: candidates.DuplicateCandidate, prefix: str) -> None:
    st.warning(tr("err.duplicate_candidate"), icon=":material/content_copy:")
    for existing in exc.existing:
        label = f"{existing.name} · {existing.email or ''} {existing.phone or ''}".strip()
        st.button(
            tr_md("cand.open_existing", name=label),
            key=f"{prefix}_dupe_{existing.id}",
            on_click=_open,
            args=(existing.id,),
            icon=":material/open_in_new:",
        )
    if not st.session_state.get(f"{prefix}_dupes_seen"):
        # The form draws this button itself from the next run on; this time it must come with the warning.
        st.button(tr("cand.save_anyway"), key=f"{prefix}_anyway", icon=":material/warning:")
    st.session_state[f"{prefix}_dupes_seen"] = True


# --------------------------------------------------------------------------- list view
# Streamlit forgets a widget's value once a run does not draw it (the detail view draws no filters): the list's
# search and filters are kept under keys of their own and put back when the list is drawn again.
_FILTER_KEYS = ("cand_q", "cand_f_job", "cand_f_stage", "cand_f_owner", "cand_f_source", "cand_f_tag", "cand_page_size")


def _restore_filters(options: dict[str, list]) -> None:
    for key in _FILTER_KEYS:
        kept = st.session_state.get(f"kept_{key}")
        if key not in st.session_state and kept is not None and (key not in options or kept in options[key]):
            st.session_state[key] = kept


def _keep_filters() -> None:
    for key in _FILTER_KEYS:
        if key in st.session_state:
            st.session_state[f"kept_{key}"] = st.session_state[key]


def list_view() -> None:
    st.title(tr("nav.candidates"), anchor=False)
    show_flash()
    _restore_filters(
        {
            "cand_f_job": list(job_names),
            "cand_f_stage": [s.value for s in Stage],
            "cand_f_owner": list(owners),
            "cand_f_source": list(SOURCES),
            "cand_page_size": list(candidates.PAGE_SIZES),
        }
    )
    q = st.text_input(
        tr("cand.search"), key="cand_q", placeholder=tr("cand.search_hint"), icon=":material/search:", max_chars=100
    )
    f1, f2, f3, f4, f5 = st.columns(5)
    job_id = f1.selectbox(
        tr("field.job"),
        [None, *job_names],
        key="cand_f_job",
        format_func=lambda i: job_names.get(i, "") if i else tr("common.all"),
        placeholder=tr("common.all"),
    )
    stage = f2.selectbox(
        tr("field.stage"),
        [None, *[s.value for s in Stage]],
        key="cand_f_stage",
        format_func=lambda s: stage_label(s) if s else tr("common.all"),
        placeholder=tr("common.all"),
    )
    owner_id = f3.selectbox(
        tr("field.owner_id"),
        [None, *owners],
        key="cand_f_owner",
        format_func=lambda i: owners.get(i, "") if i else tr("common.all"),
        placeholder=tr("common.all"),
    )
    source = f4.selectbox(
        tr("field.source"),
        [None, *SOURCES],
        key="cand_f_source",
        format_func=lambda s: tr(f"source.{s}") if s else tr("common.all"),
        placeholder=tr("common.all"),
    )
    tag = f5.text_input(tr("field.tag"), key="cand_f_tag", max_chars=40)
    filters = {"q": q, "job_id": job_id, "stage": stage, "owner_id": owner_id, "source": source, "tag": tag}
    _keep_filters()
    if st.session_state.get("cand_last_filters") != filters:
        st.session_state["cand_page"] = 1
        st.session_state["cand_last_filters"] = filters
    page_size = st.session_state.get("cand_page_size", 25)
    result = call(
        candidates.search_candidates,
        actor=user,
        page=st.session_state.get("cand_page", 1),
        page_size=page_size,
        **filters,
    )
    if result is None:
        return
    total = f"{result.total}+" if result.capped else str(result.total)
    head_l, head_r = st.columns([3, 2])
    head_l.caption(trn("cand.results", result.total, total=total, page=result.page, pages=result.pages))
    if can_edit:
        with head_r:
            csv_data = _export(filters) if st.session_state.get("cand_export_ready") else None
            if csv_data is None:
                st.button(
                    tr("cand.export_prepare"),
                    key="cand_export",
                    icon=":material/download:",
                    on_click=lambda: st.session_state.update(cand_export_ready=True),
                )
            else:
                st.download_button(
                    tr("cand.export_download"),
                    csv_data,
                    file_name="candidates.csv",
                    mime="text/csv",
                    key="cand_export_dl",
                    icon=":material/download:",
                    on_click="ignore",
                )
    if not result.rows:
        st.info(tr("cand.none_found"), icon=":material/person_search:")
    else:
        frame = pd.DataFrame(
            [
                {
                    "id": r["id"],
                    tr("field.name"): r["name"],
                    tr("field.email"): r["email"],
                    tr("field.phone"): r["phone"],
                    tr("cand.applications"): ("；" if lang() == "zh" else "; ").join(
                        f"{t} · {stage_label(s)}" for t, s in r["applications"]
                    ),
                    tr("field.owner_id"): r["owner"],
                    tr("field.source"): tr(f"source.{r['source']}"),
                    tr("field.tags"): ", ".join(r["tags"]),
                    tr("field.created_at"): fmt_dt(r["created_at"]),
                }
                for r in result.rows
            ]
        )
        picked = row_table(
            frame,
            key="cand_table",
            ids=[int(r["id"]) for r in result.rows],
            column_config={"id": None},
            caption=tr("cand.click_to_open"),
        )
        if picked:
            _open(picked)
            st.rerun()
    p1, p2, p3, p4 = st.columns([1, 1, 2, 2])
    if p1.button(tr("common.prev"), key="cand_prev", disabled=result.page <= 1, icon=":material/chevron_left:"):
        st.session_state["cand_page"] = result.page - 1
        st.rerun()
    if p2.button(
        tr("common.next"), key="cand_next", disabled=result.page >= result.pages, icon=":material/chevron_right:"
    ):
        st.session_state["cand_page"] = result.page + 1
        st.rerun()
    p4.selectbox(tr("common.page_size"), list(candidates.PAGE_SIZES), key="cand_page_size")
    if can_edit:
        create_form()


def _export(filters: dict) -> bytes | None:
    with db() as session:
        try:
            return "".join(candidates.export_candidates_csv(session=session, actor=user, **filters)).encode("utf-8")
        except DomainError as exc:
            st.error(tr(exc.key), icon=":material/error:")
            return None


def create_form() -> None:
    prefix = "cand_new"
    if f"{prefix}_name" not in st.session_state:
        load_into_state(prefix, None)
    with st.expander(
        tr("cand.new"), icon=":material/person_add:", expanded=bool(st.session_state.get(f"{prefix}_open"))
    ):
        with st.form(f"{prefix}_form", clear_on_submit=False):
            values, slots = render_fields(prefix, owners)
            job_id = st.selectbox(
                tr("cand.apply_to"),
                [None, *job_names],
                key=f"{prefix}_job",
                format_func=lambda i: job_names.get(i, "") if i else tr("common.none"),
                placeholder=tr("common.none"),
            )
            slots["job_id"] = st.empty()
            submitted = st.form_submit_button(tr("common.save"), type="primary", icon=":material/save:")
        again = st.session_state.get(f"{prefix}_dupes_seen") and st.button(
            tr("cand.save_anyway"), key=f"{prefix}_anyway", icon=":material/warning:"
        )
        if submitted or again:
            st.session_state[f"{prefix}_open"] = True

            def _created(created: Candidate) -> None:
                for key in [k for k in st.session_state if str(k).startswith(prefix)]:
                    del st.session_state[key]
                _open(created.id)

            act(
                candidates.create_candidate,
                actor=user,
                candidate_in=values,
                job_id=job_id,
                allow_duplicate=bool(again),
                where=slots,
                on={candidates.DuplicateCandidate: lambda exc: _duplicate_notice(exc, prefix)},
                then=_created,
                done=lambda created: tr_md("cand.created", name=created.name),
            )


# --------------------------------------------------------------------------- detail view
def detail_view(candidate_id: int) -> None:
    detail = call(candidates.get_candidate_detail, actor=user, candidate_id=candidate_id)
    st.button(tr("common.back_to_list"), key="cand_back", on_click=_open, args=(None,), icon=":material/arrow_back:")
    if detail is None:
        return
    c = detail.candidate
    record_view(detail)  # who opened whose record (PIPL Art. 51): once per opening, not on every rerun
    st.title(md_escape(c.name), anchor=False)
    show_flash()
    contact = " · ".join(x for x in [c.email, c.phone, f"WeChat {c.wechat_id}" if c.wechat_id else None] if x)
    st.caption(md_escape(contact))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(tr("field.owner_id"), md_escape(detail.owner) if detail.owner else tr("common.none"))
    m2.metric(tr("field.source"), tr(f"source.{c.source}"))
    m3.metric(tr("field.language"), {"zh": "中文", "en": "English"}[c.language])
    m4.metric(tr("field.consent"), tr("common.yes") if c.consent else tr("common.no"))
    if tag_list(c.tags):
        st.markdown(" ".join(f":blue-badge[{md_escape(t)}]" for t in tag_list(c.tags)))
    # Keyed, so a message appearing above (a save, a conflict) does not throw the editor back to the first tab.
    tabs = st.tabs(
        [
            tr("cand.tab_applications"),
            tr("cand.tab_edit"),
            tr("cand.tab_timeline"),
            tr("cand.tab_mail"),
            tr("cand.tab_audit"),
            tr("cand.tab_privacy"),
        ],
        key=f"cand_tabs_{c.id}",
        on_change="rerun",
    )
    with tabs[0]:
        applications(detail)
    with tabs[1]:
        if detail.can_edit:
            edit_form(c)
        else:
            st.info(tr("cand.read_only"), icon=":material/visibility:")
    with tabs[2]:
        timeline(detail)
    with tabs[3]:
        mail_list(detail)
    with tabs[4]:
        audit_trail(detail)
    with tabs[5]:
        # Legal basis, notice and consents; the keep-until date and erasure; export, requests and who looked.
        candidate_consent(detail)
        candidate_retention(detail)
        candidate_records(detail)


def applications(detail: candidates.CandidateDetail) -> None:
    c = detail.candidate
    if not detail.applications:
        st.info(tr("cand.no_applications"), icon=":material/work_off:")
    for item in detail.applications:
        app = item.application
        with st.container(border=True):
            st.markdown(f"**{md_escape(item.job)}** · {md_escape(item.department)}")
            st.markdown(tr("cand.stage_since", stage=stage_label(app.stage), since=fmt_dt(app.stage_changed_at)))
            l1, l2, l3 = st.columns([1, 1, 2])
            l1.page_link(
                "pages/debrief.py",
                label=tr("cand.debrief"),
                icon=":material/groups:",
                query_params={"application": str(app.id)},
            )
            if detail.can_edit and app.stage in ("interviewing", "decision_pending"):
                l2.page_link(
                    "pages/interviews.py",
                    label=tr("cand.schedule"),
                    icon=":material/event:",
                    query_params={"application": str(app.id)},
                )
            if detail.can_edit and app.stage in ("interviewing", "decision_pending", "offer"):
                l3.page_link(
                    "pages/follow_up.py",
                    label=tr("cand.follow_up"),
                    icon=":material/support_agent:",
                    query_params={"application": str(app.id)},
                )
            # The application's offer on the Onboard page (issue 11): from the offer stage on.
            if can(Cap.onboard) and app.stage in ("offer", "hired", "probation_passed", "withdrawn"):
                st.page_link(
                    "pages/onboard.py",
                    label=tr("cand.offer"),
                    icon=":material/contract:",
                    query_params={"application": str(app.id)},
                )
            if not item.next_stages:
                continue
            with st.form(f"cand_move_{app.id}"):
                m1, m2 = st.columns([1, 2])
                to_stage = m1.selectbox(
                    tr("cand.move_to"), item.next_stages, key=f"cand_move_to_{app.id}", format_func=stage_label
                )
                reason = m2.text_input(
                    tr("field.reason"), key=f"cand_move_reason_{app.id}", max_chars=1000, help=tr("help.reason")
                )
                slot = st.empty()
                # Moving to the talent pool stage keeps the person in the talent pool: it asks when to revisit.
                pool_in = None
                if "talent_pool" in item.next_stages:
                    p1, p2 = st.columns([1, 2])
                    revisit = p1.date_input(
                        tr("cand.pool_revisit"),
                        key=f"cand_pool_revisit_{app.id}",
                        value=utcnow().astimezone(get_settings().tz).date() + timedelta(days=90),
                    )
                    family = p2.text_input(tr("cand.pool_family"), key=f"cand_pool_family_{app.id}", max_chars=60)
                    pool_in = {"revisit_on": revisit, "job_family": family}
                slot_pool = st.empty()
                if st.form_submit_button(tr("cand.move"), icon=":material/arrow_forward:"):
                    act(
                        candidates.move_stage,
                        actor=user,
                        application_id=app.id,
                        to_stage=to_stage,
                        reason=reason,
                        from_stage=app.stage,
                        pool=pool_in if to_stage == "talent_pool" else None,
                        where={"reason": slot, "revisit_on": slot_pool, "job_family": slot_pool, "__all__": slot},
                        done=tr("cand.moved", stage=stage_label(to_stage)),
                    )
    if detail.can_edit:
        open_jobs = {i: n for i, n in job_names.items() if i not in {a.application.job_id for a in detail.applications}}
        with st.form("cand_apply_form"):
            a1, a2 = st.columns([3, 1], vertical_alignment="bottom")
            job_id = a1.selectbox(
                tr("cand.apply_to"),
                list(open_jobs),
                key="cand_apply_job",
                format_func=lambda i: open_jobs.get(i, ""),
                index=None,
                placeholder=tr("cand.pick_job"),
            )
            if a2.form_submit_button(tr("cand.apply"), icon=":material/add:") and job_id:
                act(candidates.add_application, actor=user, candidate_id=c.id, job_id=job_id, done=tr("cand.applied"))


def edit_form(c) -> None:
    prefix = "cand_edit"
    # Load once per opened candidate and after each own save. A version someone else saved meanwhile must not
    # overwrite what is being typed: saving reports it as a conflict instead.
    if st.session_state.get(f"{prefix}_loaded") != c.id and not st.session_state.get("cand_conflict"):
        load_into_state(prefix, c)
        st.session_state[f"{prefix}_version"] = c.version
        st.session_state[f"{prefix}_loaded"] = c.id
    conflict = st.session_state.get("cand_conflict")
    if conflict:
        st.warning(tr("cand.conflict", when=fmt_dt(conflict.updated_at)), icon=":material/sync_problem:")
        theirs = {f: getattr(conflict, f) for f in ("name", "email", "phone", "wechat_id", "source", "notes")}
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("common.field"): tr(f"field.{f}"),
                        tr("cand.their_value"): v or "",
                        tr("cand.your_value"): st.session_state.get(f"{prefix}_{f}") or "",
                    }
                    for f, v in theirs.items()
                    if (v or "") != (st.session_state.get(f"{prefix}_{f}") or "")
                ]
            ),
            hide_index=True,
            key="cand_conflict_table",
        )
        k1, k2 = st.columns(2)
        if k1.button(tr("cand.keep_mine"), key="cand_keep_mine", icon=":material/save_as:"):
            st.session_state[f"{prefix}_version"] = conflict.version
            st.session_state.pop("cand_conflict")
            st.session_state[f"{prefix}_resave"] = True
            st.rerun()
        if k2.button(tr("cand.take_theirs"), key="cand_take_theirs", icon=":material/restore:"):
            st.session_state.pop("cand_conflict")
            st.session_state.pop(f"{prefix}_loaded", None)
            st.rerun()
    with st.form(f"{prefix}_form"):
        values, slots = render_fields(prefix, owners)
        submitted = st.form_submit_button(tr("common.save"), type="primary", icon=":material/save:")
    again = st.session_state.get(f"{prefix}_dupes_seen") and st.button(
        tr("cand.save_anyway"), key=f"{prefix}_anyway", icon=":material/warning:"
    )
    resave = st.session_state.pop(f"{prefix}_resave", False)
    if submitted or again or resave:
        values["version"] = st.session_state[f"{prefix}_version"]

        def _conflict(exc: Conflict) -> None:
            st.session_state["cand_conflict"] = exc.current
            st.rerun()

        def _saved(_: Candidate) -> None:
            st.session_state.pop(f"{prefix}_dupes_seen", None)
            st.session_state.pop(f"{prefix}_loaded", None)

        act(
            candidates.update_candidate,
            actor=user,
            candidate_id=c.id,
            candidate_in=values,
            allow_duplicate=bool(again),
            where=slots,
            on={Conflict: _conflict, candidates.DuplicateCandidate: lambda exc: _duplicate_notice(exc, prefix)},
            then=_saved,
            done=lambda saved: tr_md("cand.saved", name=saved.name),
        )


def timeline(detail: candidates.CandidateDetail) -> None:
    if not detail.timeline:
        st.info(tr("cand.no_history"), icon=":material/history:")
        return
    for row in reversed(detail.timeline):
        src = stage_label(row.from_stage) if row.from_stage else tr("cand.created_stage")
        st.markdown(
            f"**{fmt_dt(row.at)}** · {md_escape(row.job)} · {src} → **{stage_label(row.to_stage)}**"
            f" · {md_escape(row.by) if row.by else tr('common.system')}"
            + (f"  \n> {md_escape(row.reason)}" if row.reason else "")
        )


def mail_list(detail: candidates.CandidateDetail) -> None:
    if not detail.mail:
        st.info(tr("cand.no_mail"), icon=":material/mail:")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    tr("outbox.created"): fmt_dt(m.created_at),
                    tr("outbox.subject"): m.subject,
                    tr("outbox.to"): m.to_addrs.replace(",", ", "),
                    tr("field.status"): tr(f"mail_status.{m.status}"),
                    tr("outbox.sent_at"): fmt_dt(m.sent_at),
                }
                for m in detail.mail
            ]
        ),
        hide_index=True,
        key="cand_mail_table",
        width="stretch",
    )


def audit_trail(detail: candidates.CandidateDetail) -> None:
    if not detail.audit:
        st.info(tr("cand.no_audit"), icon=":material/history:")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    tr("common.when"): fmt_dt(r["at"]),
                    tr("common.who"): r["user"] or tr("common.system"),
                    tr("common.action"): tr(f"audit.{r['action']}"),
                    tr("common.changes"): "; ".join(
                        f"{k}: {v[0]!s} → {v[1]!s}" if isinstance(v, list) and len(v) == 2 else f"{k}: {v!s}"
                        for k, v in r["changes"].items()
                    )[:500],
                }
                for r in detail.audit
            ]
        ),
        hide_index=True,
        key="cand_audit_table",
        width="stretch",
    )


selected = st.session_state.get("cand_selected")
if selected:
    detail_view(int(selected))
else:
    list_view()
