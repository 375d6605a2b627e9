"""(being built: issue 11)"""

from __future__ import annotations

import streamlit as st

from ui.common import tr

st.title(tr("nav.onboard"), anchor=False)
