"""The candidate's own consent page: opened from the link in the footer of every mail we send them (`?consent=…`), no
account needed. They give or withdraw consent to be kept in the talent pool; the link works once and expires."""

from __future__ import annotations

import streamlit as st

from services.privacy import consent
from ui.common import LANG_KEY, db, fmt_day, tr
from ui.privacy_consent import notice_link_md

K = "consent_page_"
token = st.query_params.get("consent", "")
info = None
try:
    with db() as session:
        info = consent.open_consent_link(session=session, token=token)
except consent.ConsentLinkInvalid as exc:
    # A spent or expired link is still known: its refusal is said in its owner's language.
    if exc.params.get("language") in ("zh", "en"):
        st.session_state[LANG_KEY] = exc.params["language"]
if info is not None:
    # In the candidate's language, as the mail was (the frame has already guessed one from the browser).
    st.session_state[LANG_KEY] = info.language

left, middle, right = st.columns([1, 3, 1])
with middle:
    st.title(tr("consent.title"), anchor=False)
    done = st.session_state.get(K + "done")
    if done:
        st.success(tr("consent.done_give" if done == "give" else "consent.done_withdraw"), icon=":material/check:")
        st.caption(notice_link_md())
        st.stop()
    if info is None:
        st.info(tr("consent.link_invalid"), icon=":material/link_off:")
        st.caption(notice_link_md())
        st.stop()
    st.write(tr("consent.intro"))
    if info.pool_in_force:
        st.info(
            tr("consent.now_given_until", date=fmt_day(info.until)) if info.until else tr("consent.now_given"),
            icon=":material/bookmark_added:",
        )
    else:
        st.info(tr("consent.now_not_given"), icon=":material/bookmark_remove:")
    choice = st.radio(
        tr("consent.choose"),
        ["give", "withdraw"],
        index=0 if not info.pool_in_force else 1,
        format_func=lambda c: (
            tr("consent.choice_give", months=consent.LINK_POOL_MONTHS) if c == "give" else tr("consent.choice_withdraw")
        ),
        key=K + "choice",
    )
    st.caption(tr("consent.once"))
    if st.button(tr("consent.send"), type="primary", key=K + "send", icon=":material/send:"):
        try:
            with db() as session:
                consent.answer_consent_link(session=session, token=token, give=choice == "give")
        except consent.ConsentLinkInvalid:  # spent meanwhile from another tab
            st.info(tr("consent.link_invalid"), icon=":material/link_off:")
        else:
            st.session_state[K + "done"] = choice
            st.rerun()
    st.caption(notice_link_md())
