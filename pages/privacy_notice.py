"""The privacy notice, public (`?notice=current` or `?notice=<version>`, `&lang=zh|en`): linked from the mail footer,
the consent page, the survey, the offer answer and the new hire's page. Admin text, shown as text."""

from __future__ import annotations

import html

import streamlit as st

from services.privacy import notices
from ui.common import LANG_KEY, db, fmt_dt, lang, tr

wanted = st.query_params.get("notice", "current")
language = st.query_params.get("lang", "")
if language in ("zh", "en"):
    st.session_state[LANG_KEY] = language
version = int(wanted) if wanted.isdigit() and len(wanted) < 9 else None
with db() as session:
    text = notices.notice_text(session=session, version=version)

left, middle, right = st.columns([1, 3, 1])
with middle:
    st.title(tr("privacy_notice.title"), anchor=False)
    if text is None or (version is None and wanted != "current"):
        st.info(tr("privacy_notice.not_found"), icon=":material/link_off:")
        st.stop()
    if text.version is not None:
        st.caption(tr("privacy_notice.version", version=text.version, when=fmt_dt(text.published_at)))
    # Escaped, line breaks kept: admin text, still never markup.
    body = html.escape(text.text(lang()))
    st.html(f'<div style="white-space:pre-wrap;line-height:1.6">{body}</div>')
