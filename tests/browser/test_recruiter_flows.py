"""A recruiter's main flows in the browser: create a candidate, import a CSV."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import text

from services.platform.db import make_engine
from services.platform.i18n import t, tn
from tests.browser.conftest import shot
from tests.browser.flows import click_until, open_page, settle, sign_in


def _candidates(server: dict, email_like: str = "%") -> list[tuple[str, str]]:
    engine = make_engine(server["database_url"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT name, email FROM candidate WHERE email LIKE :e ORDER BY id"), {"e": email_like}
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


def _table_as_csv(page: Page, frame) -> list[list[str]]:  # a Locator
    # Without the File System Access API Streamlit falls back to an ordinary download that Playwright catches.
    page.evaluate("delete window.showSaveFilePicker")
    frame.hover()
    with page.expect_download() as download:
        frame.get_by_role("button", name="Download as CSV").click()
    content = Path(download.value.path()).read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(content)))


def _new_candidate_form(page: Page):  # a Locator
    page.get_by_test_id("stExpander").filter(has_text=t("cand.new", "zh")).get_by_text(t("cand.new", "zh")).click()
    form = page.get_by_test_id("stForm")
    expect(form.get_by_role("textbox", name=t("field.name", "zh"), exact=True)).to_be_visible()
    return form


def test_a_recruiter_creates_a_candidate_after_fixing_the_email(new_page, server):
    tag = uuid.uuid4().hex[:8]
    name, good_email = f"欧阳娜 {tag}", f"ouyang.na.{tag}@example.net"
    page = new_page("zh-CN")
    sign_in(page, "recruiter@example.com", browser_language="zh")
    expect(page.locator("h1").first).to_have_text(t("nav.candidates", "zh"))

    form = _new_candidate_form(page)
    form.get_by_role("textbox", name=t("field.name", "zh"), exact=True).fill(name)
    email = form.get_by_role("textbox", name=t("field.email", "zh"), exact=True)
    email.fill(f"ouyang.na.{tag}-at-example.net")
    save = form.get_by_role("button", name=t("common.save", "zh"))
    click_until(page, save, form.get_by_text(t("err.email_invalid", "zh")))
    shot(page, "recruiter-candidate_email_error-zh")
    expect(form.get_by_role("textbox", name=t("field.name", "zh"), exact=True)).to_have_value(name)
    assert _candidates(server, f"%{tag}%") == []

    email.fill(good_email)
    save.click()
    expect(page.locator("h1").first).to_have_text(name)
    expect(page.get_by_text(t("cand.created", "zh", name=name))).to_be_visible()
    settle(page)
    shot(page, "recruiter-candidate_created-zh")
    assert _candidates(server, f"%{tag}%") == [(name, good_email)]


def test_a_recruiter_imports_a_csv_only_once_every_row_is_right(new_page, server):
    tag = uuid.uuid4().hex[:8]
    bad = (
        f"name,email,phone,source\n"
        f"Hannah Young,hannah.{tag}@example.net,,referral\n"
        f"Leo Green,leo.{tag}-at-example.net,,job_board\n"
        f"韩梅梅,han.meimei.{tag}@example.net,+86 135 {tag[:4].translate(str.maketrans('abcdef', '123456'))} 0000,"
        f"campus\n"
    )
    good = bad.replace(f"leo.{tag}-at-example.net", f"leo.{tag}@example.net")
    page = new_page("en-US")
    sign_in(page, "recruiter@example.com", browser_language="en")  # the account's language is zh
    open_page(page, t("nav.import", "zh"))

    upload = page.get_by_test_id("stFileUploaderDropzoneInput")
    upload.set_input_files({"name": "candidates.csv", "mimeType": "text/csv", "buffer": bad.encode()})
    expect(page.get_by_role("button", name=t("import.run", "zh"), exact=True)).to_be_visible()  # once uploaded
    settle(page)
    run = page.get_by_role("button", name=t("import.run", "zh"), exact=True)
    click_until(page, run, page.get_by_text(tn("import.failed", 1, "zh", rows=1)))
    errors = page.get_by_test_id("stDataFrame").last  # after the preview of the file
    expect(errors).to_be_visible()
    shot(page, "recruiter-import_errors-zh")
    # The grid is drawn on a canvas; its own "Download as CSV" gives what it shows.
    shown = _table_as_csv(page, errors)
    header = [t(key, "zh") for key in ("import.row", "common.field", "import.value", "import.problem")]
    assert shown == [header, ["3", t("field.email", "zh"), f"leo.{tag}-at-example.net", t("err.email_invalid", "zh")]]
    assert _candidates(server, f"%{tag}%") == []

    upload.set_input_files({"name": "candidates-fixed.csv", "mimeType": "text/csv", "buffer": good.encode()})
    # The new file reruns the page, which drops the old report; a click before that would be lost in the rerun.
    expect(page.get_by_text(tn("import.failed", 1, "zh", rows=1))).to_have_count(0)
    settle(page)
    click_until(page, run, page.get_by_text(tn("import.done", 3, "zh", count=3)))
    shot(page, "recruiter-import_done-zh")
    assert [n for n, _ in _candidates(server, f"%{tag}%")] == ["Hannah Young", "Leo Green", "韩梅梅"]


def test_a_recruiter_imports_another_tools_export_after_fixing_one_column_match(new_page, server):
    tag = uuid.uuid4().hex[:8]
    digits = tag[:4].translate(str.maketrans("abcdef", "123456"))
    export = (
        "First name,Last name,E-mail,Handy,应聘职位,来源\n"
        f"Mia,Turner,mia.{tag}@example.net,+44 20 7946 {digits},,招聘网站\n"
        f"梅,韩,han.mei.{tag}@example.net,+86 136 {digits} 0000,,内推\n"
    )
    page = new_page("zh-CN")
    sign_in(page, "recruiter@example.com", browser_language="zh")
    open_page(page, t("nav.import", "zh"))
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        {"name": "ats-export.csv", "mimeType": "text/csv", "buffer": export.encode()}
    )
    expect(page.get_by_text(t("import.mapping_title", "zh"))).to_be_visible()
    settle(page)

    def picker(column: int):  # a Locator
        return page.get_by_role("combobox", name=f"{t('import.column', 'zh')} {column}", exact=True)

    expect(picker(6)).to_be_visible()
    # "Handy" is nobody's word for a phone here: the guess leaves it out, the recruiter matches it.
    expect(picker(4)).to_have_value(t("import.ignore", "zh"))
    expect(picker(1)).to_have_value(t("field.first_name", "zh"))
    picker(4).click()
    page.get_by_role("option", name=t("field.phone", "zh"), exact=True).click()
    expect(picker(4)).to_have_value(t("field.phone", "zh"))
    settle(page)
    shot(page, "recruiter-import_mapping-zh")
    run = page.get_by_role("button", name=t("import.run", "zh"), exact=True)
    click_until(page, run, page.get_by_text(tn("import.done", 2, "zh", count=2)))
    shot(page, "recruiter-import_mapped_done-zh")
    assert _candidates(server, f"%{tag}%") == [
        ("Mia Turner", f"mia.{tag}@example.net"),
        ("韩梅", f"han.mei.{tag}@example.net"),
    ]
