"""The candidate's offer: opened from the private link in the offer letter (`?offer=<token>`), no account needed.
Shows their own offer and takes one answer — accept, or decline with a reason; a used, expired or withdrawn link
says so and shows nothing else."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.onboard import DeclineReason
from services.onboard import offers
from services.platform.errors import ValidationError
from ui.common import LANG_KEY, db, fmt_day, show_validation, tr, trn
from ui.privacy_consent import notice_footer

K = "offer_answer_"
token = st.query_params.get("offer", "")
problem = None
language = None
info = None
try:
    with db() as session:
        info = offers.open_offer_link(session=session, token=token)
except offers.OfferLinkInvalid as exc:
    problem = exc.key
    language = exc.params.get("language")
# In the candidate's language, as the letter was (the frame has already guessed one from the browser).
if info is not None:
    st.session_state[LANG_KEY] = info.language
elif problem and language:
    st.session_state[LANG_KEY] = language

left, middle, right = st.columns([1, 3, 1])
with middle:
    st.title(tr("offer_answer.title"), anchor=False)
    done = st.session_state.get(K + "done")
    if done:
        st.success(
            tr("offer_answer.accepted" if done == "accepted" else "offer_answer.declined"), icon=":material/favorite:"
        )
        st.stop()
    if info is None:
        st.info(tr(problem or "offer_answer.link_invalid"), icon=":material/link_off:")
        st.stop()
    st.text(tr("offer_answer.intro", name=info.candidate_name))
    rows = [
        (tr("offer_answer.position"), info.job_title),
        (tr("offer_answer.level"), info.level),
        (tr("offer_answer.pay"), info.pay),
        (tr("offer_answer.start"), fmt_day(info.start_date)),
        (tr("offer_answer.location"), info.location),
        (tr("offer_answer.probation"), trn("offer_answer.months", info.probation_months, num=info.probation_months)),
        (tr("offer_answer.deadline"), fmt_day(info.response_deadline)),
    ]
    st.dataframe(
        pd.DataFrame(
            [{tr("offer_answer.term"): label, tr("offer_answer.value"): value} for label, value in rows if value]
        ),
        hide_index=True,
        width="stretch",
        key=K + "terms",
    )
    accept = st.button(tr("offer_answer.accept"), type="primary", key=K + "accept", icon=":material/check_circle:")
    slots: dict[str, object] = {}
    with st.expander(tr("offer_answer.decline"), icon=":material/do_not_disturb_on:"), st.form(K + "decline_form"):
        reason = st.selectbox(
            tr("offer_answer.decline_why"),
            [r.value for r in DeclineReason if r != DeclineReason.no_response],
            index=None,
            key=K + "reason",
            format_func=lambda r: tr(f"decline.{r}"),
            placeholder=tr("offer_answer.reason_placeholder"),
        )
        slots["decline_reason"] = st.empty()
        text = st.text_area(tr("offer_answer.decline_text"), max_chars=2000, key=K + "text")
        slots["decline_text"] = st.empty()
        decline = st.form_submit_button(tr("offer_answer.confirm_decline"), icon=":material/send:")
    notice_footer()
    if accept or decline:
        answer = "accepted" if accept else "declined"
        try:
            with db() as session:
                offers.answer_offer_by_link(
                    session=session,
                    token=token,
                    answer=answer,
                    reason=None if accept else reason,
                    text="" if accept else text,
                )
        except ValidationError as exc:
            show_validation(exc, slots)
        except offers.OfferLinkInvalid as exc:
            st.info(tr(exc.key), icon=":material/link_off:")
        else:
            st.session_state[K + "done"] = answer
            st.rerun()
