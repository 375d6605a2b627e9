"""The candidate experience survey: opened from a private link, no account needed."""

from __future__ import annotations

import streamlit as st

from services.follow_up import followup
from services.platform.errors import ValidationError
from ui.common import LANG_KEY, db, show_validation, tr, tr_md
from ui.privacy_consent import notice_footer

token = st.query_params.get("survey", "")
try:
    with db() as session:
        info = followup.open_survey(session=session, token=token)
except followup.SurveyLinkInvalid:
    info = None
if info is not None:
    # In the candidate's language, as the invitation was (the frame has already guessed one from the browser).
    st.session_state[LANG_KEY] = info.language

left, middle, right = st.columns([1, 3, 1])
with middle:
    if st.session_state.get("survey_done"):
        st.title(tr("survey.thanks_title"), anchor=False)
        st.success(tr("survey.thanks"), icon=":material/favorite:")
        st.stop()
    if info is None:
        st.title(tr("survey.title"), anchor=False)
        st.info(tr("survey.link_invalid"), icon=":material/link_off:")
        st.stop()
    st.title(tr("survey.title"), anchor=False)
    st.caption(tr_md("survey.intro", job=info.job))
    with st.form("survey_form"):
        # No pre-selected answer: a default would nudge every score toward it.
        nps = st.segmented_control(tr("survey.nps"), list(range(11)), key="survey_nps")
        st.caption(tr("survey.nps_scale"))
        slots = {"nps": st.empty()}
        scale = [1, 2, 3, 4, 5]
        for name in ("clarity", "respect", "treatment"):
            st.segmented_control(
                tr(f"survey.{name}"), scale, key=f"survey_{name}", format_func=lambda n: tr(f"survey.scale_{n}")
            )
            slots[name] = st.empty()
        st.text_area(tr("survey.comment"), key="survey_comment", max_chars=3000, height=110)
        slots["comment"] = st.empty()
        sent = st.form_submit_button(tr("survey.send"), type="primary", icon=":material/send:")
    st.caption(tr("survey.privacy"))
    notice_footer()
    if sent:
        answer = {
            "nps": nps,
            "clarity": st.session_state.get("survey_clarity"),
            "respect": st.session_state.get("survey_respect"),
            "treatment": st.session_state.get("survey_treatment"),
            "comment": st.session_state.get("survey_comment", ""),
        }
        missing = {k: ("err.required", {}) for k, v in answer.items() if v is None}
        try:
            if missing:
                raise ValidationError(missing)
            with db() as session:
                followup.answer_survey(session=session, token=token, answer_in=answer)
        except ValidationError as exc:
            show_validation(exc, slots)
        except followup.SurveyLinkInvalid:
            st.info(tr("survey.link_invalid"), icon=":material/link_off:")
        else:
            st.session_state["survey_done"] = True
            st.rerun()
