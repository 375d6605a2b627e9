"""Import candidates from CSV or XLSX: all rows or none, with a per-row error report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services import importer
from services.errors import DomainError
from ui.common import current_user, db, tr, tr_md

user = current_user()
st.title(tr("nav.import"), anchor=False)
st.markdown(tr("import.intro", max=importer.MAX_ROWS))
template = "name,email,phone,wechat_id,source,tags,owner_email,language,consent,job\n" \
           "张伟,zhang.wei@example.com,+86 138 0013 8000,zw_2024,referral,\"java,backend\",,zh,yes,\n"
st.download_button(tr("import.template"), template.encode("utf-8-sig"), file_name="candidates-template.csv",
                   mime="text/csv", key="import_template", icon=":material/description:", on_click="ignore")
upload = st.file_uploader(tr("import.file"), type=["csv", "xlsx"], key="import_file",
                          max_upload_size=importer.MAX_BYTES // (1024 * 1024))
if upload is not None and st.button(tr("import.run"), key="import_run", type="primary", icon=":material/upload:"):
    try:
        rows = importer.read_rows(filename=upload.name, content=upload.getvalue())
        with db() as session:
            report = importer.import_candidates(session=session, actor=user, rows=rows)
    except DomainError as exc:
        st.error(tr_md(exc.key, **exc.params), icon=":material/error:")
    else:
        if report.ok:
            st.success(tr("import.done", count=report.created), icon=":material/check_circle:")
        else:
            st.error(tr("import.failed", rows=len({e.row for e in report.errors})), icon=":material/error:")
            st.dataframe(pd.DataFrame([
                {tr("import.row"): e.row, tr("common.field"): tr(f"field.{e.field}") if e.field else "",
                 tr("import.value"): e.value, tr("import.problem"): tr(e.key, **e.params)}
                for e in report.errors
            ]), hide_index=True, key="import_errors", width="stretch")
