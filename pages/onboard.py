"""Onboard (协助入职): offers by status with deadlines and approvals waiting; new hires by start date with their
plan's progress, training and check-ins."""

from __future__ import annotations

import streamlit as st

from ui.common import show_flash, tr
from ui.onboard_hires import hires_section
from ui.onboard_offers import offers_section

st.title(tr("nav.onboard"), anchor=False)
show_flash()
offers_tab, hires_tab = st.tabs(
    [tr("onboard.tab_offers"), tr("onboard.tab_hires")],
    key="onboard_tabs",  # keyed and tracked: a flash above them after an action must not reopen the first tab
    on_change="rerun",
)
with offers_tab:
    offers_section()
with hires_tab:
    hires_section()
