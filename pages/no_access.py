"""Signed on through the company, but no role yet."""

import streamlit as st

from ui.common import current_user, tr, tr_md

user = current_user()
st.title(tr("noaccess.title"), anchor=False)
st.info(tr_md("noaccess.body", email=user.email), icon=":material/lock:")
