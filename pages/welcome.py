"""The new hire's own page, opened from the private link in their welcome mail (no account): start date, where to go
and whom to ask for, the training schedule, the materials to read, the checklist of what to bring or do, and
uploads. Everything comes from services.onboard.welcome by the link's token and is shown as text."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from services.onboard import welcome
from services.onboard.materials import MAX_BYTES, UPLOAD_TYPES
from services.platform.errors import DomainError
from ui.common import LANG_KEY, act, db, fmt_clock, fmt_day, fmt_dt, lang, md_escape, show_flash, tr
from ui.privacy_consent import notice_footer

token = st.query_params.get("welcome", "")
try:
    with db() as session:
        info = welcome.open_welcome(session=session, token=token, language=st.session_state.get("welcome_language"))
except welcome.WelcomeLinkInvalid:
    info = None
if info is not None and "welcome_language" not in st.session_state:
    # In the new hire's language, as the welcome mail was; the switch below changes it for this visit.
    st.session_state[LANG_KEY] = info.language


def _switch_language() -> None:
    chosen = st.session_state.get("welcome_language")
    if chosen in ("zh", "en"):
        st.session_state[LANG_KEY] = chosen


def _invalid() -> None:
    st.info(tr("welcome.link_invalid"), icon=":material/link_off:")
    st.stop()


def _fetch(material_id: int) -> Callable[[], bytes]:
    """The file's bytes, read (through the link's check) only when the button is pressed."""

    def read() -> bytes:
        try:
            with db() as session:
                return welcome.download_material(session=session, token=token, material_id=material_id).content
        except DomainError:
            return b""

    return read


left, middle, right = st.columns([1, 3, 1])
with middle:
    st.title(tr("welcome.title"), anchor=False)
    if info is None:
        _invalid()
    assert info is not None
    st.segmented_control(
        tr("nav.language"),
        ["zh", "en"],
        default=lang(),
        key="welcome_language",
        format_func=lambda code: {"zh": "简体中文", "en": "English"}[code],
        on_change=_switch_language,
    )
    show_flash()
    st.text(tr("welcome.greeting", name=info.name))

    with st.container(border=True):
        c1, c2 = st.columns(2)
        c1.caption(tr("welcome.start_date"))
        c1.text(fmt_day(info.start_date))
        c2.caption(tr("welcome.job"))
        c2.text(info.job_title)
        c3, c4 = st.columns(2)
        c3.caption(tr("welcome.where"))
        c3.text(info.location or tr("welcome.where_unknown"))
        c4.caption(tr("welcome.ask_for"))
        roles = {"buddy": tr("welcome.role_buddy"), "hiring_manager": tr("welcome.role_hiring_manager")}
        c4.text("\n".join(f"{name} ({roles[role]})" for role, name in info.contacts) or tr("welcome.ask_hr"))

    st.subheader(tr("welcome.schedule"), anchor=False)
    if info.sessions:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("welcome.when"): f"{fmt_dt(s.starts_at)}–{fmt_clock(s.ends_at)}",
                        tr("welcome.session"): s.title,
                        tr("welcome.place"): s.location or s.meeting_link,
                    }
                    for s in info.sessions
                ]
            ),
            key="welcome_sessions",
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(tr("welcome.schedule_none"))

    st.subheader(tr("welcome.materials"), anchor=False)
    if not info.materials and not info.links:
        st.caption(tr("welcome.materials_none"))
    for material in info.materials:
        m1, m2 = st.columns([3, 1])
        m1.text(f"{material.title} · {material.filename}" if material.title != material.filename else material.title)
        m2.download_button(
            tr("welcome.download"),
            data=_fetch(material.id),
            file_name=material.filename,
            key=f"welcome_material_{material.id}",
            icon=":material/download:",
        )
    for link in info.links:
        if link.url.lower().startswith(("https://", "http://")):
            st.link_button(md_escape(link.title), link.url, icon=":material/open_in_new:")
        else:
            st.text(f"{link.title}: {link.url}")

    st.subheader(tr("welcome.checklist"), anchor=False)
    st.caption(tr("welcome.checklist_hint"))
    tick_slot = st.empty()
    for item in info.checklist:
        ticked = st.checkbox(md_escape(item.label), value=item.done, key=f"welcome_item_{item.id}")
        if ticked != item.done:
            act(
                welcome.tick_checklist_item,
                token=token,
                item_id=item.id,
                ticked=ticked,
                where={"__all__": tick_slot},
                on={welcome.WelcomeLinkInvalid: lambda _: _invalid()},
            )

    st.subheader(tr("welcome.uploads"), anchor=False)
    st.caption(tr("welcome.uploads_hint", types=", ".join(UPLOAD_TYPES), mb=MAX_BYTES // (1024 * 1024)))
    for upload in info.uploads:
        u1, u2 = st.columns([3, 1])
        u1.text(f"{upload.filename} · {fmt_dt(upload.uploaded_at)}")
        u2.download_button(
            tr("welcome.download"),
            data=_fetch(upload.id),
            file_name=upload.filename,
            key=f"welcome_upload_file_{upload.id}",
            icon=":material/download:",
        )
    nonce = st.session_state.get("welcome_upload_nonce", 0)
    # Streamlit draws its drop zone's own words ("Drag and drop file here", "Browse files") in English and takes
    # no text for them: the label and its help say in the reader's language what to do and what is allowed.
    picked = st.file_uploader(
        tr("welcome.upload"),
        help=tr("welcome.upload_help", types=", ".join(UPLOAD_TYPES), mb=MAX_BYTES // (1024 * 1024)),
        type=UPLOAD_TYPES,
        key=f"welcome_upload_{nonce}",
        max_upload_size=MAX_BYTES // (1024 * 1024),
    )
    file_slot = st.empty()
    if st.button(tr("welcome.upload_send"), key="welcome_upload_send", icon=":material/upload:", disabled=not picked):
        if picked is None:
            file_slot.error(tr("err.required"), icon=":material/error:")
        else:
            act(
                welcome.upload_material,
                token=token,
                filename=picked.name,
                content=picked.getvalue(),
                where={"file": file_slot, "__all__": file_slot},
                on={welcome.WelcomeLinkInvalid: lambda _: _invalid()},
                then=lambda _: st.session_state.update({"welcome_upload_nonce": nonce + 1}),
                done=tr("welcome.uploaded"),
            )
    st.caption(tr("welcome.privacy", date=fmt_day(info.valid_until)))
    notice_footer()
