"""Privacy notice versions (admins) and a candidate's legal basis, notice and consents (their page's Privacy tab)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from models.privacy import ConsentPurpose, LegalBasis
from services.pipeline.candidates import CandidateDetail
from services.platform.config import get_settings
from services.privacy import consent, notices
from ui.common import act, call, current_user, fmt_day, fmt_dt, lang, tr

K = "privacy_notice_"
C = "cand_privacy_"


def notice_link_md() -> str:
    """A Markdown link (our own text, no user text) to the current privacy notice in the reader's language."""
    return f"[{tr('privacy.notice_link')}](/?notice=current&lang={quote(lang())})"


def notice_footer() -> None:
    """The small link at the bottom of the public pages (survey, offer answer, new hire's page)."""
    st.caption(notice_link_md())


# --------------------------------------------------------------------------- admins: notice versions
def notice_section() -> None:
    """The Privacy page's notice tab: the versions (current, drafts, how many were shown each), a new version in
    both languages, publish, and delete a draft nobody was shown."""
    user = current_user()
    rows = call(notices.list_notices, actor=user)
    if rows is None:
        return
    st.caption(tr("privacy.notice_intro"))
    if not any(r.notice.published_at for r in rows):
        st.info(tr("privacy.notice_default_in_use"), icon=":material/info:")
        with st.expander(tr("privacy.notice_default_show"), key=K + "default"):
            text = notices.default_text()
            st.text(text.text_zh)
            st.text(text.text_en)
    for row in rows:
        n = row.notice
        with st.container(border=True, key=f"{K}row_{n.id}"):
            state = (
                tr("privacy.notice_current")
                if row.current
                else tr("privacy.notice_published", when=fmt_dt(n.published_at))
                if n.published_at
                else tr("privacy.notice_draft")
            )
            st.markdown(f"**{tr('privacy.notice_version', version=n.version)}** · {state}")
            st.caption(tr("privacy.notice_shown_to", count=row.shown_to, created=fmt_dt(n.created_at)))
            with st.expander(tr("privacy.notice_read"), key=f"{K}read_{n.id}"):
                st.caption(tr("field.text_zh"))
                st.text(n.text_zh)
                st.caption(tr("field.text_en"))
                st.text(n.text_en)
            if n.published_at is None:
                b1, b2, _ = st.columns([1, 1, 3])
                if b1.button(tr("privacy.notice_publish"), key=f"{K}publish_{n.id}", icon=":material/publish:"):
                    act(
                        notices.publish_notice,
                        actor=user,
                        notice_id=n.id,
                        done=tr("privacy.notice_published_done", version=n.version),
                    )
                if b2.button(tr("privacy.notice_delete"), key=f"{K}delete_{n.id}", icon=":material/delete:"):
                    act(
                        notices.delete_notice,
                        actor=user,
                        notice_id=n.id,
                        done=tr("privacy.notice_deleted", version=n.version),
                    )
    st.subheader(tr("privacy.notice_new"), anchor=False)
    # Once saved, the form starts afresh (new keys; removing the old keys' values does not empty what the browser
    # shows): a second click must not save the same text again.
    n = st.session_state.get(K + "new_nonce", 0)
    with st.form(f"{K}new_{n}"):
        st.text_area(tr("field.text_zh"), key=f"{K}text_zh_{n}", height=220, max_chars=50_000)
        slot_zh = st.empty()
        st.text_area(tr("field.text_en"), key=f"{K}text_en_{n}", height=220, max_chars=50_000)
        slot_en = st.empty()
        sent = st.form_submit_button(tr("privacy.notice_save"), type="primary", icon=":material/save:")
    if sent:

        def _clear(_: Any) -> None:
            st.session_state[K + "new_nonce"] = n + 1

        act(
            notices.create_notice,
            actor=user,
            notice_in={
                "text_zh": st.session_state.get(f"{K}text_zh_{n}", ""),
                "text_en": st.session_state.get(f"{K}text_en_{n}", ""),
            },
            where={"text_zh": slot_zh, "text_en": slot_en},
            then=_clear,
            done=lambda n: tr("privacy.notice_saved", version=n.version),
        )


# --------------------------------------------------------------------------- a candidate's Privacy tab
def _at_noon(day: date | None) -> datetime | None:
    """A day picked in a form as a moment (noon, company time): the record keeps a time, the form asks a day."""
    return None if day is None else datetime.combine(day, time(12, 0), tzinfo=get_settings().tz)


def _as_moment(day: date | None, stored: datetime | None) -> datetime | None:
    """The day picked, kept at the stored moment when it is that moment's day (an unchanged field changes nothing)."""
    return stored if day is not None and day == _local_day(stored) else _at_noon(day)


def _local_day(value: datetime | None) -> date | None:
    return None if value is None else value.astimezone(get_settings().tz).date()


def candidate_consent(detail: CandidateDetail) -> None:
    """The candidate page's legal basis, notice and consents: read by whoever sees the candidate, recorded by
    recruiters and admins."""
    user = current_user()
    c = detail.candidate
    info = call(consent.candidate_privacy, actor=user, candidate_id=c.id)
    if info is None:
        return
    cand = info.candidate
    st.subheader(tr("privacy.basis_title"), anchor=False)
    facts = [
        (tr("field.legal_basis"), tr(f"legal_basis.{cand.legal_basis}")),
        (
            tr("field.notice_id"),
            tr("privacy.notice_version", version=info.notice.version) if info.notice else tr("common.none"),
        ),
        (tr("field.notice_shown_at"), fmt_dt(cand.notice_shown_at) or tr("common.none")),
        (tr("field.source"), tr(f"source.{cand.source}")),
        (tr("field.source_told_at"), fmt_dt(cand.source_told_at) or tr("common.none")),
    ]
    st.dataframe(
        pd.DataFrame([{tr("privacy.fact"): k, tr("privacy.value"): v} for k, v in facts]),
        hide_index=True,
        width="stretch",
        key=f"{C}facts_{c.id}",
    )
    if info.sourced and cand.source_told_at is None:
        st.warning(tr("privacy.sourced_not_told"), icon=":material/campaign:")
    if cand.notice_id is None:
        st.caption(tr("privacy.no_notice_yet"))
    if info.can_record:
        _facts_form(user, info)
    st.subheader(tr("privacy.consent_title"), anchor=False)
    rows = []
    for purpose in ConsentPurpose:
        latest = info.latest[purpose.value]
        if latest is None:
            state = tr("privacy.state_given") if info.in_force[purpose.value] else tr("privacy.state_none")
        elif info.in_force[purpose.value]:
            state = (
                tr("privacy.state_given_until", date=fmt_day(latest.until))
                if latest.until
                else tr("privacy.state_given")
            )
        elif latest.given:
            state = tr("privacy.state_ended", date=fmt_day(latest.until)) if latest.until else tr("privacy.state_none")
        else:
            state = tr("privacy.state_withdrawn")
        rows.append(
            {
                tr("field.purpose"): tr(f"purpose.{purpose.value}"),
                tr("privacy.state"): state,
                tr("common.when"): fmt_dt(latest.at) if latest else "",
                tr("field.method"): tr(f"consent_method.{latest.method}") if latest else "",
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key=f"{C}state_{c.id}")
    if info.can_record:
        _consent_form(user, info)
    else:
        st.caption(tr("privacy.read_only"))
    if info.history:
        st.caption(tr("privacy.history"))
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("common.when"): fmt_dt(r.at),
                        tr("field.purpose"): tr(f"purpose.{r.purpose}"),
                        tr("privacy.state"): tr("privacy.given") if r.given else tr("privacy.withdrawn"),
                        tr("field.until"): fmt_day(r.until) if r.until else "",
                        tr("field.method"): tr(f"consent_method.{r.method}"),
                        tr("common.who"): who or tr("privacy.by_candidate"),
                        tr("field.note"): r.note,
                    }
                    for r, who in info.history
                ]
            ),
            hide_index=True,
            width="stretch",
            key=f"{C}history_{c.id}",
        )


def _facts_form(user: Any, info: consent.CandidatePrivacy) -> None:
    cand = info.candidate
    prefix = f"{C}facts_form_{cand.id}_v{cand.version}_"  # a save (here or elsewhere) starts the form afresh
    # Saved meanwhile (another tab, a colleague) while this form was open: its click finds no form of that version
    # any more, and used to vanish unsaid. It still reaches the service, which refuses the stale version and says so.
    drawn_key = f"{C}facts_drawn_{cand.id}"
    drawn = st.session_state.get(drawn_key)
    st.session_state[drawn_key] = cand.version
    stale = f"{C}facts_form_{cand.id}_v{drawn}_"
    if drawn is not None and drawn != cand.version and st.session_state.get(stale + "save"):
        act(
            consent.set_privacy_facts,
            actor=user,
            candidate_id=cand.id,
            version=drawn,
            facts_in=_facts_in(stale, cand),
            where={"__all__": st.empty()},
            done=tr("privacy.facts_saved"),
        )
    # Before any version is published, the built-in default is the one to choose (saved as version 1 on saving).
    notice_ids: list[int | None] = [None, *([n.id for n in info.notices] or [consent.CURRENT_NOTICE])]
    if cand.notice_id is not None and cand.notice_id not in notice_ids:
        notice_ids.append(cand.notice_id)
    versions = {n.id: n.version for n in info.notices}
    if info.notice is not None:
        versions[info.notice.id] = info.notice.version
    with st.form(prefix + "form"):
        basis = [b.value for b in LegalBasis]
        st.selectbox(
            tr("field.legal_basis"),
            basis,
            index=basis.index(cand.legal_basis) if cand.legal_basis in basis else 0,
            format_func=lambda b: tr(f"legal_basis.{b}"),
            key=prefix + "basis",
        )
        st.selectbox(
            tr("field.notice_id"),
            notice_ids,
            index=notice_ids.index(cand.notice_id),
            format_func=lambda i: (
                tr("common.none")
                if i is None
                else tr("privacy.notice_builtin")
                if i == consent.CURRENT_NOTICE
                else tr("privacy.notice_version", version=versions[i])
            ),
            placeholder=tr("common.none"),
            key=prefix + "notice",
        )
        slot_notice = st.empty()
        st.date_input(
            tr("field.notice_shown_at"),
            value=_local_day(cand.notice_shown_at),
            key=prefix + "shown",
            format="YYYY-MM-DD",
        )
        slot_shown = st.empty()
        st.date_input(
            tr("field.source_told_at"),
            value=_local_day(cand.source_told_at),
            key=prefix + "told",
            format="YYYY-MM-DD",
            help=tr("privacy.source_told_help"),
        )
        slot_told = st.empty()
        sent = st.form_submit_button(tr("privacy.facts_save"), icon=":material/save:", key=prefix + "save")
    if sent:
        act(
            consent.set_privacy_facts,
            actor=user,
            candidate_id=cand.id,
            version=cand.version,
            facts_in=_facts_in(prefix, cand),
            where={"notice_id": slot_notice, "notice_shown_at": slot_shown, "source_told_at": slot_told},
            done=tr("privacy.facts_saved"),
        )


def _facts_in(prefix: str, cand: Any) -> dict[str, Any]:
    """What the facts form drawn under `prefix` holds, as the service takes it."""
    state = st.session_state
    return {
        "legal_basis": state.get(prefix + "basis"),
        "notice_id": state.get(prefix + "notice"),
        "notice_shown_at": _as_moment(state.get(prefix + "shown"), cand.notice_shown_at),
        "source_told_at": _as_moment(state.get(prefix + "told"), cand.source_told_at),
    }


def _consent_form(user: Any, info: consent.CandidatePrivacy) -> None:
    cand = info.candidate
    # Once recorded, the form starts afresh (new keys; removing the old keys' values does not empty what the
    # browser shows): a second click must not record the same consent again.
    nonce = f"{C}consent_{cand.id}_nonce"
    n = st.session_state.get(nonce, 0)
    prefix = f"{C}consent_{cand.id}_{n}_" if n else f"{C}consent_{cand.id}_"
    with st.form(prefix + "form"):
        purposes = [p.value for p in ConsentPurpose]
        st.selectbox(tr("field.purpose"), purposes, format_func=lambda p: tr(f"purpose.{p}"), key=prefix + "purpose")
        st.radio(
            tr("field.given"),
            ["give", "withdraw"],
            format_func=lambda g: tr("privacy.give") if g == "give" else tr("privacy.withdraw"),
            horizontal=True,
            key=prefix + "given",
        )
        st.date_input(
            tr("field.until"), value=None, key=prefix + "until", format="YYYY-MM-DD", help=tr("privacy.until_help")
        )
        slot_until = st.empty()
        st.text_input(tr("field.note"), key=prefix + "note", max_chars=500, help=tr("privacy.note_help"))
        slot_note = st.empty()
        sent = st.form_submit_button(tr("privacy.consent_save"), type="primary", icon=":material/how_to_reg:")
    if sent:
        state = st.session_state

        def _clear(_: Any) -> None:
            state[nonce] = n + 1

        act(
            consent.record_consent,
            actor=user,
            consent_in={
                "candidate_id": cand.id,
                "purpose": state.get(prefix + "purpose"),
                "given": state.get(prefix + "given") == "give",
                "until": state.get(prefix + "until"),
                "note": state.get(prefix + "note", ""),
            },
            where={"until": slot_until, "note": slot_note},
            then=_clear,
            done=tr("privacy.consent_saved"),
        )
