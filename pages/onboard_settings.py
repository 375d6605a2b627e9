"""Onboarding and offer settings (admins): onboarding templates per department, offer approval."""

from __future__ import annotations

import streamlit as st

from ui.common import show_flash, tr
from ui.onboard_hires import templates_section
from ui.onboard_offers import approval_settings_section

st.title(tr("nav.onboard_settings"), anchor=False)
show_flash()
templates_tab, approval_tab = st.tabs(
    [tr("onboard.tab_templates"), tr("onboard.tab_approval")],
    key="onboard_settings_tabs",  # keyed and tracked: a flash above them after a save must not reopen the first tab
    on_change="rerun",
)
with templates_tab:
    templates_section()
with approval_tab:
    approval_settings_section()
