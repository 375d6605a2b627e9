"""The candidate fields, shared by the create and the edit form; errors appear under each field."""

from __future__ import annotations

from typing import Any

import streamlit as st

from models.candidate import SOURCES, Candidate
from models.common import tag_list
from ui.common import tr

FIELDS = ["name", "email", "phone", "wechat_id", "source", "tags", "owner_id", "language", "consent", "notes"]


def load_into_state(prefix: str, candidate: Candidate | None) -> None:
    """Put a candidate's saved values (or blanks) into the form's widgets."""
    values: dict[str, Any] = {
        "name": "",
        "email": "",
        "phone": "",
        "wechat_id": "",
        "source": "other",
        "tags": "",
        "owner_id": None,
        "language": "zh",
        "consent": False,
        "notes": "",
    }
    if candidate is not None:
        values.update(
            {
                "name": candidate.name,
                "email": candidate.email or "",
                "phone": candidate.phone or "",
                "wechat_id": candidate.wechat_id or "",
                "source": candidate.source,
                "tags": ", ".join(tag_list(candidate.tags)),
                "owner_id": candidate.owner_id,
                "language": candidate.language,
                "consent": candidate.consent,
                "notes": candidate.notes,
            }
        )
    for key, value in values.items():
        st.session_state[f"{prefix}_{key}"] = value


def render_fields(prefix: str, owners: dict[int, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Draw the inputs (inside a form); returns the typed values and a placeholder per field for errors."""
    slots: dict[str, Any] = {}
    c1, c2 = st.columns(2)
    with c1:
        st.text_input(tr("field.name"), key=f"{prefix}_name", max_chars=100)
        slots["name"] = st.empty()
        st.text_input(tr("field.email"), key=f"{prefix}_email", max_chars=254, placeholder="name@example.com")
        slots["email"] = st.empty()
        st.text_input(tr("field.phone"), key=f"{prefix}_phone", max_chars=30, placeholder="+86 138 0000 0000")
        slots["phone"] = st.empty()
        st.text_input(tr("field.wechat_id"), key=f"{prefix}_wechat_id", max_chars=60)
        slots["wechat_id"] = st.empty()
    with c2:
        st.selectbox(tr("field.source"), SOURCES, key=f"{prefix}_source", format_func=lambda s: tr(f"source.{s}"))
        slots["source"] = st.empty()
        st.selectbox(
            tr("field.owner_id"),
            [None, *owners],
            key=f"{prefix}_owner_id",
            format_func=lambda i: owners.get(i, tr("common.none")) if i else tr("common.none"),
            placeholder=tr("common.none"),
        )
        slots["owner_id"] = st.empty()
        st.text_input(tr("field.tags"), key=f"{prefix}_tags", max_chars=600, help=tr("help.tags"))
        slots["tags"] = st.empty()
        st.radio(
            tr("field.language"),
            ["zh", "en"],
            key=f"{prefix}_language",
            horizontal=True,
            format_func=lambda c: {"zh": "中文", "en": "English"}[c],
            help=tr("help.candidate_language"),
        )
        st.checkbox(tr("field.consent"), key=f"{prefix}_consent", help=tr("help.consent"))
    st.text_area(tr("field.notes"), key=f"{prefix}_notes", max_chars=5000, height=100)
    slots["notes"] = st.empty()
    slots["__all__"] = st.empty()
    values = {f: st.session_state.get(f"{prefix}_{f}") for f in FIELDS}
    return values, slots
