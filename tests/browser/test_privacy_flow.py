"""Issue 13's flow in a real browser: an admin exports a candidate's whole record, opens the readable (HTML) export
in both languages, erases the person (an open offer asks for confirmation first), searches for them (not found) and
opens Metrics (the funnel's counts are what they were before the erasure)."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import expect
from sqlmodel import col, select

from models.candidate import Application, Candidate
from models.onboard import Offer
from services.platform.i18n import t
from services.privacy.export import LANGUAGE_NAMES
from tests.browser.conftest import shot
from tests.browser.flows import ACCOUNTS, click_until, settle, sign_in

HOSTILE_NOTE = "<script>alert(1)</script> ![x](/session/end) =1+2"


def _person_with_an_open_offer(server_db) -> tuple[int, str, str]:
    """A demo candidate whose offer is sent and not yet answered, with hostile text in their notes."""
    with server_db() as session:
        person = session.exec(
            select(Candidate)
            .join(Application, col(Application.candidate_id) == Candidate.id)
            .join(Offer, col(Offer.application_id) == Application.id)
            .where(Offer.status == "sent", col(Candidate.anonymised_at).is_(None), col(Candidate.email).is_not(None))
        ).first()
        assert person is not None, "the demo data has a candidate with a sent offer"
        person.notes = HOSTILE_NOTE
        session.add(person)
        session.commit()
        return person.id or 0, person.name, person.email or ""


def _funnel_csv(page, lang: str) -> str:
    """The Metrics page's funnel as its CSV download, computed afresh (the refresh button skips the cache)."""
    page.goto("/metrics")
    expect(page.locator("h1").first).to_have_text(t("nav.metrics", lang))
    settle(page)
    main = page.get_by_test_id("stMain")
    main.get_by_role("button", name=t("metrics.refresh", lang)).click()
    settle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    with page.expect_download() as download:
        main.get_by_role("button", name=t("metrics.download_csv", lang)).first.click()
    return Path(download.value.path()).read_bytes().decode("utf-8-sig")


def test_an_admin_exports_opens_the_export_erases_and_the_person_is_gone_but_the_counts_stay(
    new_page, server_db
) -> None:
    cid, name, email = _person_with_an_open_offer(server_db)
    admin, lang = ACCOUNTS["admin"]
    page = new_page("zh-CN")
    sign_in(page, admin, browser_language="zh")
    before = _funnel_csv(page, lang)

    # The candidate's Privacy tab: prepare the export, take both files.
    page.goto(f"/?id={cid}")
    settle(page)
    main = page.get_by_test_id("stMain")
    main.get_by_role("tab", name=t("cand.tab_privacy", lang)).click()
    settle(page)
    click_until(
        page,
        main.get_by_role("button", name=t("records.prepare_export", lang)),
        main.get_by_role("button", name=t("records.download_html", lang)),
    )
    with page.expect_download() as download:
        main.get_by_role("button", name=t("records.download_html", lang)).click()
    html_file = Path(download.value.path()).with_suffix(".html")
    html_file.write_bytes(Path(download.value.path()).read_bytes())
    other = "en" if lang == "zh" else "zh"
    with page.expect_download() as download:
        main.get_by_role("button", name=t("records.download_html_in", lang, language=LANGUAGE_NAMES[other])).click()
    other_file = Path(download.value.path()).with_suffix(".html")
    other_file.write_bytes(Path(download.value.path()).read_bytes())
    with page.expect_download() as download:
        main.get_by_role("button", name=t("records.download_json", lang)).click()
    document = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert document["candidate"] == {"id": cid, "name": name}
    assert document["sections"]["person"][0]["email"] == email
    assert document["sections"]["offers"], "the open offer is part of the record"
    shot(page, "privacy-flow-export-ready")

    # The readable export opens in the browser: the person, their sections, their text shown as text (no script).
    reader = new_page("zh-CN")
    alerts: list[str] = []
    reader.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    reader.goto(html_file.as_uri())
    expect(reader.locator("h1")).to_have_text(f"{t('export.title', lang)}: {name}")
    for section in ("export.section_person", "export.section_offers", "export.section_access"):
        expect(reader.get_by_role("heading", name=t(section, lang))).to_be_visible()
    expect(reader.get_by_text(email, exact=True).first).to_be_visible()
    expect(reader.get_by_text(HOSTILE_NOTE, exact=True).first).to_be_visible()
    assert alerts == [] and reader.locator("img").count() == 0
    # Headed in words (staff named, codes said), not the database's column names.
    expect(reader.get_by_role("rowheader", name=t("field.legal_basis", lang))).to_be_visible()
    expect(reader.get_by_text(t("legal_basis.pre_contract", lang), exact=True).first).to_be_visible()
    expect(reader.get_by_role("rowheader", name="by user id")).to_have_count(0)
    shot(reader, "privacy-flow-html-export")
    # The same page in the other language, for a person who reads that one.
    reader.goto(other_file.as_uri())
    expect(reader.locator("h1")).to_have_text(f"{t('export.title', other)}: {name}")
    expect(reader.get_by_role("heading", name=t("export.section_offers", other))).to_be_visible()
    expect(reader.get_by_text(HOSTILE_NOTE, exact=True).first).to_be_visible()
    assert alerts == []
    shot(reader, "privacy-flow-html-export-other-language")

    # Erase now: a reason, and with an open offer a confirmation; refused until it is ticked.
    main.locator("summary").filter(has_text=t("retention.erase_title", lang)).click()
    main.get_by_role("textbox", name=t("retention.erase_reason", lang)).fill("候选人要求删除 " + HOSTILE_NOTE)
    erase = main.get_by_role("button", name=t("retention.erase_now", lang))
    click_until(page, erase, main.get_by_text(t("err.erase_needs_confirmation", lang)))
    shot(page, "privacy-flow-erase-asks-confirmation")
    main.get_by_text(t("retention.erase_confirm", lang)).click()
    settle(page)
    click_until(page, erase, page.get_by_text(t("retention.erased", lang).format(n=cid)))
    shot(page, "privacy-flow-erased")

    # Searched for by email or name: not found.
    box = page.get_by_test_id("stMain").get_by_role("textbox", name=t("cand.search", lang))
    box.fill(email)
    box.press("Enter")
    expect(page.get_by_text(t("cand.none_found", lang))).to_be_visible()
    box.fill(name)
    box.press("Enter")
    settle(page)
    expect(page.get_by_test_id("stMain").get_by_text(email)).to_have_count(0)
    shot(page, "privacy-flow-search-after-erase")

    # Metrics opens without an error and counts exactly what it counted before.
    assert _funnel_csv(page, lang) == before
    shot(page, "privacy-flow-metrics-after-erase")
    with server_db() as session:
        gone = session.get(Candidate, cid)
        assert gone is not None and gone.anonymised_at is not None and email not in (gone.email or "")
