"""Two app servers, one worker and nginx on PostgreSQL, driven with Chromium through nginx (see conftest.py).

The tests run in this order on one topology: moving between servers, mail through both, the database away and
back, then one app server killed.
"""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from models.evaluation import Scorecard, ScorecardStatus
from models.mail import MailStatus, OutboxMessage
from models.worker import WorkerHeartbeat
from services.platform.db import session_scope
from services.platform.i18n import t
from tests.browser.flows import open_page, settle, sidebar, sign_in
from tests.browser.test_evaluate_flow import _fill_scorecard, _open_my_scorecard, _submit_scorecard
from tests.deploy.conftest import SERVER_NAMES, Topology, status_of, wait_for
from tests.scenarios import interviewed_candidate

ROUTE = "followup_route"
SERVER = "x-followup-server"
OUTAGE_SECONDS = 30  # what the issue asks the deployment to ride out


def served_by(page: Page) -> str:
    """The app server this browser's route cookie leads to (the page, its WebSocket and uploads go there)."""
    response = page.request.get("/healthz")
    return response.headers[SERVER]


def move_to_other_server(page: Page, current: str, *, path: str | None = None) -> str:
    """Forget the route cookie and load the page again until nginx sends it to another app server than
    `current` (a new route key is drawn at random, so one or two tries usually do).

    The old page is left first: its scripts (health checks, the WebSocket reconnecting) would otherwise send a
    request without the cookie between the clearing and the reload, and be given a route key of their own."""
    target = path or page.url
    for _ in range(40):
        page.goto("about:blank")
        page.context.clear_cookies(name=ROUTE)
        response = page.goto(target)
        assert response is not None
        if response.headers[SERVER] != current:
            assert served_by(page) == response.headers[SERVER]  # the new route cookie sticks
            return response.headers[SERVER]
    raise AssertionError(f"nginx sent every fresh route to {current}")


def test_a_browser_moved_to_the_other_app_server_is_still_signed_in_and_sees_the_same_scorecard(
    topology: Topology, open_page
) -> None:
    engine = topology.database()
    with session_scope(engine) as session:
        case = interviewed_candidate(session, name="司马明轩", email=f"sima.{uuid.uuid4().hex[:8]}@example.com")
    page = open_page("zh-CN")
    sign_in(page, "interviewer@example.com", browser_language="zh")
    first = served_by(page)
    assert first in SERVER_NAMES
    for _ in range(3):  # sticky: the same browser stays on its server
        assert page.reload().headers[SERVER] == first
    settle(page)

    _open_my_scorecard(page, case, "zh")
    _fill_scorecard(page, case, "zh", rating=4, recommendation="yes", strengths="部署测试 / through nginx")
    _submit_scorecard(page, "zh")

    second = move_to_other_server(page, first, path=f"/scorecard?interview={case.interview_id}")
    assert second in SERVER_NAMES and second != first
    expect(sidebar(page).get_by_text("interviewer@example.com")).to_be_visible()  # still signed in
    expect(page.locator("h1").first).to_have_text(t("sc.title", "zh", name=case.candidate))
    expect(page.get_by_role("textbox", name=t("sc.strengths", "zh"))).to_have_value("部署测试 / through nginx")
    expect(page.get_by_role("button", name=t("sc.submit", "zh"))).to_have_count(0)  # submitted and locked there too
    with Session(engine) as session:
        card = session.exec(select(Scorecard).where(Scorecard.interview_id == case.interview_id)).all()
        assert [c.status for c in card if c.strengths] == [ScorecardStatus.submitted]
    engine.dispose()


def _queue_test_mail(page: Page, to: str) -> None:
    open_page(page, t("nav.outbox", "zh"))
    page.get_by_text(t("outbox.test_title", "zh")).click()
    box = page.get_by_role("textbox", name=t("outbox.to", "zh"))
    box.fill(to)
    page.get_by_role("button", name=t("outbox.test_send", "zh")).click()
    # The flash names the address escaped for Markdown (a word joiner keeps it from becoming a link).
    expect(page.get_by_text(re.compile(re.escape(t("outbox.test_queued", "zh", to=""))))).to_be_visible()
    settle(page)


def test_mail_queued_through_both_app_servers_is_delivered_once_by_the_worker(topology: Topology, open_page) -> None:
    one, two = open_page("zh-CN"), open_page("zh-CN")
    sign_in(one, "admin@example.com", browser_language="zh")
    two.goto("/")
    move_to_other_server(two, served_by(one))
    sign_in(two, "admin@example.com", browser_language="zh")
    assert {served_by(one), served_by(two)} == set(SERVER_NAMES)

    tag = uuid.uuid4().hex[:8]
    addresses = [f"via-{served_by(p)}-{tag}@example.com" for p in (one, two)]
    for page, to in zip((one, two), addresses, strict=True):
        _queue_test_mail(page, to)

    def delivered() -> bool:
        return all(any(to in r.rcpt_tos for r in topology.smtp.received) for to in addresses)

    wait_for(delivered, "both test messages delivered", seconds=30, logs=(topology.worker,))
    time.sleep(2)  # a second delivery, if there were one, would come within the worker's next passes
    for to in addresses:
        assert sum(to in r.rcpt_tos for r in topology.smtp.received) == 1, to

    # The outbox shows that a worker is running (its heartbeat), through either server.
    one.reload()
    expect(one.get_by_text("deploy-worker/worker")).to_be_visible()
    engine = topology.database()
    with Session(engine) as session:
        beat = session.get(WorkerHeartbeat, "deploy-worker/worker")
        assert beat is not None and beat.passes > 1 and beat.last_error == ""
    engine.dispose()


def test_the_database_away_for_a_while_gives_503_and_a_clear_page_then_all_carries_on_without_a_restart(
    topology: Topology, open_page
) -> None:
    engine = topology.database()
    tag = uuid.uuid4().hex[:8]
    page = open_page("en-US")
    sign_in(page, "recruiter@example.com", browser_language="en")

    topology.switch.off()
    try:
        with Session(engine) as session:  # mail that waits through the outage (written past the proxy)
            for n in range(5):
                session.add(
                    OutboxMessage(
                        idempotency_key=f"outage-{tag}-{n}",
                        to_addrs=f"outage-{n}-{tag}@example.com",
                        subject=f"outage {n}",
                        html="<p>x</p>",
                        text="x",
                        message_id=f"<outage-{tag}-{n}@followup.example.com>",
                    )
                )
            session.commit()
        for server in topology.servers.values():
            wait_for(
                lambda s=server: status_of(s.url + "/healthz", timeout=10) == 503, f"{server.name} says 503", seconds=30
            )
        assert status_of(topology.url + "/healthz", timeout=15) == 503
        page.reload()
        expect(page.get_by_text(t("dbdown.unavailable", "en"))).to_be_visible(timeout=30_000)
        expect(page.get_by_text(t("dbdown.unavailable", "zh"))).to_be_visible()
        time.sleep(max(0.0, OUTAGE_SECONDS - 5))
        log = topology.worker.log.read_text()
        assert "database still unavailable" in log and "next try in" in log  # it backs off
        assert topology.worker.alive() and all(s.alive() for s in topology.servers.values())
    finally:
        topology.switch.on()

    for server in topology.servers.values():
        wait_for(lambda s=server: status_of(s.url + "/healthz") == 200, f"{server.name} healthy again", seconds=30)
    page.reload()
    expect(sidebar(page).get_by_text("recruiter@example.com")).to_be_visible()  # signed in, no restart

    def all_sent() -> bool:
        with Session(engine) as session:
            rows = session.exec(
                select(OutboxMessage.status).where(col(OutboxMessage.idempotency_key).startswith(f"outage-{tag}-"))
            ).all()
            return rows.count(MailStatus.sent) == 5

    wait_for(all_sent, "the mail of the outage sent", seconds=90, logs=(topology.worker,))
    for n in range(5):
        assert sum(f"outage-{n}-{tag}@example.com" in r.rcpt_tos for r in topology.smtp.received) == 1
    with Session(engine) as session:
        assert session.get(WorkerHeartbeat, "deploy-worker/worker").last_error == ""
    engine.dispose()


def test_one_app_server_killed_new_sessions_go_to_the_other_and_nothing_is_lost(topology: Topology, open_page) -> None:
    page = open_page("zh-CN")
    sign_in(page, "recruiter@example.com", browser_language="zh")
    victim = served_by(page)
    survivor = next(n for n in SERVER_NAMES if n != victim)
    engine = topology.database()
    with Session(engine) as session:
        sent_before = session.exec(select(OutboxMessage.id).where(OutboxMessage.status == MailStatus.sent)).all()

    topology.servers[victim].proc.kill()
    topology.servers[victim].proc.wait(timeout=10)

    # The killed server's browser: its next load goes to the survivor, still signed in.
    response = page.reload()
    assert response is not None and response.headers[SERVER] == survivor
    expect(sidebar(page).get_by_text("recruiter@example.com")).to_be_visible()
    settle(page)
    # New sessions all go to the survivor.
    for _ in range(4):
        fresh = open_page("en-US")
        assert fresh.goto("/").headers[SERVER] == survivor
    fresh = open_page("zh-CN")
    sign_in(fresh, "admin@example.com", browser_language="zh")
    assert served_by(fresh) == survivor
    to = f"after-kill-{uuid.uuid4().hex[:8]}@example.com"
    _queue_test_mail(fresh, to)
    wait_for(
        lambda: any(to in r.rcpt_tos for r in topology.smtp.received),
        "mail after the kill delivered",
        seconds=30,
        logs=(topology.worker,),
    )
    with Session(engine) as session:
        sent_after = set(session.exec(select(OutboxMessage.id).where(OutboxMessage.status == MailStatus.sent)).all())
    assert set(sent_before) <= sent_after  # nothing sent before was lost
    engine.dispose()
