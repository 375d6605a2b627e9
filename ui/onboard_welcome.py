"""One new hire's private page as HR sees it: the link (issue, revoke, re-issue; its address shown once), the welcome
mail (prepared, reviewed and sent like other candidate mail), the checklist as the new hire ticked it, and the
documents they uploaded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from services.onboard import welcome
from services.platform.errors import DomainError
from services.platform.policy import Cap
from ui.common import act, call, can, current_user, db, fmt_day, fmt_dt, lang, tr
from ui.drafts import review_draft


def _url_key(plan_id: int) -> str:
    return f"nh_wl_url_{plan_id}"


def _keep_url(plan_id: int) -> Callable[[str], object]:
    return lambda url: st.session_state.update({_url_key(plan_id): url})


def _link(plan_id: int, status: welcome.LinkStatus, user: Any) -> None:
    st.subheader(tr("nh.link_title"), anchor=False)
    if status.ended:  # after the outcome (or past probation's end) the link is over: nothing to issue
        closed = status.plan_status not in welcome.OPEN_PLAN
        ended = tr("nh.link_ended" if closed else "nh.link_expired", until=fmt_day(status.valid_until))
        st.info(ended, icon=":material/link_off:")
        return
    if status.live:
        live = tr("nh.link_live", since=fmt_dt(status.issued_at), until=fmt_day(status.valid_until))
        st.success(live, icon=":material/link:")
        if status.welcome_auto is not None:  # the worker's welcome mail will carry a new link: this one stops then
            st.caption(tr("nh.link_until_mail", date=fmt_day(status.welcome_auto)))
    elif status.revoked_at is not None:
        st.warning(tr("nh.link_revoked", at=fmt_dt(status.revoked_at)), icon=":material/link_off:")
    else:
        st.info(tr("nh.link_none"), icon=":material/link_off:")
    url = st.session_state.pop(_url_key(plan_id), None)
    if url:  # the address exists only now: the database keeps a hash of its token
        st.code(url, language=None)
        st.caption(tr("nh.link_shown_once"))
    if not can(Cap.edit_plans):
        return
    slot = st.empty()
    where = {"__all__": slot}
    if status.live:
        b1, b2, _ = st.columns([1, 1, 2])
        if b1.button(tr("nh.link_reissue"), key=f"nh_wl_reissue_{plan_id}", icon=":material/autorenew:"):
            act(
                welcome.reissue_link,
                actor=user,
                plan_id=plan_id,
                where=where,
                then=_keep_url(plan_id),
                done=tr("nh.link_reissued"),
            )
        if b2.button(tr("nh.link_revoke"), key=f"nh_wl_revoke_{plan_id}", icon=":material/link_off:"):
            act(welcome.revoke_link, actor=user, plan_id=plan_id, where=where, done=tr("nh.link_was_revoked"))
    elif st.button(tr("nh.link_issue"), key=f"nh_wl_issue_{plan_id}", type="primary", icon=":material/add_link:"):
        act(
            welcome.issue_link,
            actor=user,
            plan_id=plan_id,
            where=where,
            then=_keep_url(plan_id),
            done=tr("nh.link_issued"),
        )


def _mail(plan_id: int, status: welcome.LinkStatus, user: Any) -> None:
    st.subheader(tr("nh.welcome_title"), anchor=False)
    if status.welcome_auto is not None:
        st.caption(tr("nh.welcome_due", date=fmt_day(status.welcome_auto)))
    elif not status.ended and status.mail_id is None:  # past the start date (or extended): the worker sends none
        st.caption(tr("nh.welcome_not_auto"))
    if status.mail_status is not None:
        st.text(tr("nh.welcome_status", status=tr(f"mail_status.{status.mail_status}")))
    if not can(Cap.edit_plans):
        return
    drafts = call(welcome.welcome_drafts, actor=user, plan_id=plan_id) or []
    for draft in drafts:
        review_draft(draft, user, tr("template.welcome"))
    if drafts or status.ended:
        return
    st.caption(tr("nh.welcome_prepare_hint"))
    replace = False
    if status.live:  # the mail needs a new link: the one HR holds (perhaps sent already) would stop working
        replace = st.checkbox(
            tr("nh.welcome_replace_link", since=fmt_dt(status.issued_at)), key=f"nh_wl_replace_{plan_id}"
        )
    slot = st.empty()
    if st.button(tr("nh.welcome_prepare"), key=f"nh_wl_prepare_{plan_id}", icon=":material/drafts:"):
        act(
            welcome.prepare_welcome_mail,
            actor=user,
            plan_id=plan_id,
            replace_link=replace,
            where={"replace_link": slot, "__all__": slot},
            done=tr("nh.welcome_prepared"),
        )


def _checklist(plan_id: int, user: Any) -> None:
    st.subheader(tr("nh.checklist_title"), anchor=False)
    items = call(welcome.plan_checklist, actor=user, plan_id=plan_id) or []
    if not items:
        st.info(tr("nh.checklist_none"), icon=":material/checklist:")
        return
    done = sum(1 for i in items if i.done_at is not None)
    st.caption(tr("nh.checklist_progress", done=done, total=len(items)))
    zh = lang() == "zh"
    st.dataframe(
        pd.DataFrame(
            [
                {
                    tr("nh.checklist_item"): i.label_zh if zh else i.label_en,
                    tr("nh.checklist_done"): i.done_at is not None,
                    tr("nh.checklist_done_at"): fmt_dt(i.done_at),
                }
                for i in items
            ]
        ),
        key=f"nh_wl_checklist_{plan_id}",
        hide_index=True,
        width="stretch",
    )


def _fetch(plan_id: int, material_id: int, user: Any) -> Callable[[], bytes]:
    """The file's bytes, read (and checked) only when the button is pressed."""

    def read() -> bytes:
        try:
            with db() as session:
                got = welcome.download_upload(session=session, actor=user, plan_id=plan_id, material_id=material_id)
        except DomainError:
            return b""
        return got.content

    return read


def _uploads(plan_id: int, user: Any) -> None:
    st.subheader(tr("nh.uploads_title"), anchor=False)
    uploads = call(welcome.plan_uploads, actor=user, plan_id=plan_id) or []
    if not uploads:
        st.info(tr("nh.uploads_none"), icon=":material/upload_file:")
        return
    for upload in uploads:
        c1, c2, c3 = st.columns([3, 2, 1])
        c1.text(upload.filename)
        c2.text(f"{fmt_dt(upload.uploaded_at)} · {max(upload.size // 1024, 1)} KB")
        c3.download_button(
            tr("nh.download"),
            data=_fetch(plan_id, upload.id, user),
            file_name=upload.filename,
            key=f"nh_wl_download_{upload.id}",
            icon=":material/download:",
        )


def welcome_tab(plan_id: int) -> None:
    """The New hire's page tab of pages/new_hire.py."""
    user = current_user()
    status = call(welcome.link_status, actor=user, plan_id=plan_id)
    if status is None:
        return
    _link(plan_id, status, user)
    _mail(plan_id, status, user)
    _checklist(plan_id, user)
    _uploads(plan_id, user)
