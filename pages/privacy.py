"""Privacy (admins): the privacy notice, retention rules, requests to see or erase data, and who looked at whom."""

from __future__ import annotations

import streamlit as st

from ui.common import show_flash, tr
from ui.privacy_consent import notice_section
from ui.privacy_records import access_section, requests_section
from ui.privacy_retention import retention_section

st.title(tr("nav.privacy"), anchor=False)
show_flash()
notice_tab, retention_tab, requests_tab, access_tab = st.tabs(
    [tr("privacy.tab_notice"), tr("privacy.tab_retention"), tr("privacy.tab_requests"), tr("privacy.tab_access")],
    key="privacy_tabs",  # keyed and tracked: a flash above them after a save must not reopen the first tab
    on_change="rerun",
)
with notice_tab:
    notice_section()
with retention_tab:
    retention_section()
with requests_tab:
    requests_section()
with access_tab:
    access_section()
