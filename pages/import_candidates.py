"""Import candidates from CSV or XLSX: match the file's columns to fields, then all rows or none."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.pipeline import importer
from services.platform.errors import DomainError, ValidationError
from ui.common import current_user, db, error_md, tr, tr_md, trn

user = current_user()
st.title(tr("nav.import"), anchor=False)
st.markdown(tr("import.intro", max=importer.MAX_ROWS))
template = (
    "name,email,phone,wechat_id,source,tags,owner_email,language,consent,job\n"
    '张伟,zhang.wei@example.com,+86 138 0013 8000,zw_2024,referral,"java,backend",,zh,yes,\n'
)
st.download_button(
    tr("import.template"),
    template.encode("utf-8-sig"),
    file_name="candidates-template.csv",
    mime="text/csv",
    key="import_template",
    icon=":material/description:",
    on_click="ignore",
)
upload = st.file_uploader(
    tr("import.file"), type=["csv", "xlsx"], key="import_file", max_upload_size=importer.MAX_BYTES // (1024 * 1024)
)


def _field_label(target: str) -> str:
    return tr("import.ignore") if target == importer.IGNORE else tr(f"field.{target}")


def _show_row_errors(errors: list[importer.RowError]) -> None:
    """Each problem by row, field and (for a cell that could not be read) the file's own column; user text as data."""
    with_column = any(e.column for e in errors)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    tr("import.row"): e.row,
                    tr("common.field"): _field_label(e.field) if e.field else "",
                    **({tr("import.column"): e.column} if with_column else {}),
                    tr("import.value"): e.value,
                    tr("import.problem"): tr(e.key, **e.params),
                }
                for e in errors
            ]
        ),
        hide_index=True,
        key="import_errors",
        width="stretch",
    )


def _table() -> importer.Table | None:
    """The uploaded file read once per upload (kept for the reruns of the mapping step)."""
    if upload is None:
        st.session_state.pop("import_table", None)
        return None
    kept = st.session_state.get("import_table")
    if kept and kept[0] == upload.file_id:
        return kept[1]
    try:
        table = importer.read_table(filename=upload.name, content=upload.getvalue())
    except DomainError as exc:
        st.error(error_md(exc), icon=":material/error:")
        st.session_state.pop("import_table", None)
        return None
    st.session_state["import_table"] = (upload.file_id, table)
    return table


def _column_names(header: list[str]) -> list[str]:
    """Unique, non-empty column names for the preview table (the file's own headers as far as possible)."""
    names: list[str] = []
    for i, text in enumerate(header):
        name = text or f"{tr('import.column')} {i + 1}"
        while name in names:
            name += f" ({i + 1})"
        names.append(name)
    return names


def mapping_step(table: importer.Table) -> list[str]:
    """One picker per file column, started from the remembered mapping for these headers, else the guess."""
    signature = importer.header_signature(table.header)[:12]
    try:
        with db() as session:
            remembered = importer.load_mapping(session=session, actor=user, header=table.header)
    except DomainError:  # someone who may not import: the import button says so
        remembered = None
    start = remembered or importer.guess_mapping(table.header)
    st.subheader(tr("import.mapping_title"), anchor=False)
    st.write(tr("import.mapping_intro"))
    if remembered:
        st.info(tr("import.mapping_remembered"), icon=":material/history:")
    names = _column_names(table.header)
    preview = pd.DataFrame([(r + [""] * len(names))[: len(names)] for _, r in table.rows[:3]], columns=names)
    options = [importer.IGNORE, *importer.CANDIDATE_FIELDS]
    mapping = []
    for i, name in enumerate(names):
        left, right = st.columns([2, 3], vertical_alignment="center")
        # The header is the file's text: shown as text, never as a (Markdown) widget label.
        left.text(name)
        mapping.append(
            right.selectbox(
                f"{tr('import.column')} {i + 1}",
                options,
                index=options.index(start[i]) if start[i] in options else 0,
                format_func=_field_label,
                key=f"import_map_{signature}_{i}",
                label_visibility="collapsed",
            )
        )
    st.dataframe(preview, hide_index=True, key="import_preview", width="stretch")
    return mapping


def run_import(table: importer.Table, mapping: list[str]) -> None:
    try:
        importer.check_mapping(mapping)
    except ValidationError as exc:
        key, params = exc.fields["mapping"]
        if "target" in params:
            params = params | {"target": _field_label(params["target"])}
        st.error(tr_md(key, **params), icon=":material/error:")
        return
    try:
        rows = importer.apply_mapping(table, mapping)
        # The mapping is remembered once confirmed, even if some rows still need fixing: the corrected file
        # comes back with the same headers.
        with db() as session:
            importer.save_mapping(session=session, actor=user, header=table.header, mapping=mapping)
        with db() as session:
            report = importer.import_candidates(session=session, actor=user, rows=rows)
    except importer.ImportRowsError as exc:
        st.error(error_md(exc), icon=":material/error:")
        _show_row_errors(exc.errors)
        return
    except DomainError as exc:
        st.error(error_md(exc), icon=":material/error:")
        return
    if report.ok:
        st.success(trn("import.done", report.created, count=report.created), icon=":material/check_circle:")
    else:
        bad = len({e.row for e in report.errors})
        st.error(trn("import.failed", bad, rows=bad), icon=":material/error:")
        _show_row_errors(report.errors)


table = _table()
if table is not None:
    chosen = mapping_step(table)
    if st.button(tr("import.run"), key="import_run", type="primary", icon=":material/upload:"):
        run_import(table, chosen)
