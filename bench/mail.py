"""Mail throughput: the outbox worker against the naive way, both into a local SMTP server.

    python -m bench.mail                   # 1,000 messages
    python -m bench.mail --messages 5000 --batch-size 100 --repeat 5

Starts aiosmtpd on a free port of 127.0.0.1 (a handler that only counts), queues N reminder-style messages
(Chinese subject, HTML and plain text) into a temporary SQLite outbox, and times
  - the worker: services.mail.mailer.send_due in a loop until nothing is due (claim, one connection per batch,
    each message marked sent in the database), and
  - the naive way: one `yagmail.SMTP(...).send(...)` per message, which opens a new connection each time
    (and no database at all); once as called plainly, and once with yagmail's HTML prettifying (premailer)
    off, the fastest the naive way can be.
Prints messages/second for each and the ratios. Target: worker >= 300 msg/s and >= 2x naive.
The server runs in this process, so its own work is in every figure; each is the fastest of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import tempfile
import threading
import time
from pathlib import Path

import yagmail
from aiosmtpd.controller import Controller
from sqlmodel import Session

import services.platform.config
from services.mail.mailer import send_due
from services.mail.outbox import queue_mail, render
from services.platform.db import make_engine, migrate


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure(port: int, batch_size: int) -> services.platform.config.Settings:
    os.environ.update(
        {
            "FOLLOWUP_SMTP_HOST": "127.0.0.1",
            "FOLLOWUP_SMTP_PORT": str(port),
            "FOLLOWUP_SMTP_SECURITY": "none",
            "FOLLOWUP_SMTP_USER": "",
            "FOLLOWUP_MAIL_FROM": "noreply@followup.example.com",
            "FOLLOWUP_MAIL_BATCH_SIZE": str(batch_size),
            # A throw-away key, so the bench never writes data/secret_key.
            "FOLLOWUP_SECRET_KEY": os.environ.get("FOLLOWUP_SECRET_KEY") or secrets.token_urlsafe(32),
        }
    )
    services.platform.config.get_settings.cache_clear()
    return services.platform.config.get_settings()


def sample(n: int) -> tuple[str, str, str]:
    item = {
        "title_zh": f"候选人{n:04d} · 高级后端工程师：已 7 天没有进展",
        "title_en": "",
        "detail_en": "",
        "detail_zh": "该应聘自 2026-03-02 17:00 起一直处于同一阶段。请联系候选人或做出决定。",
        "link": f"http://localhost:8501/candidates?id={n}",
        "due": "",
    }
    rendered = render("reminder", "zh", recipient_name="王芳", item=item)
    return rendered.subject, rendered.html, rendered.text


def bench_worker(messages: int, settings: services.platform.config.Settings, counter: Counter) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        engine = make_engine(url)
        with Session(engine) as session:
            for n in range(messages):
                subject, html, text = sample(n)
                queue_mail(
                    session=session,
                    to=f"recruiter{n % 50}@example.com",
                    subject=subject,
                    html=html,
                    text=text,
                    key=f"bench:{n}",
                )
            session.commit()
        counter.count = 0
        started = time.perf_counter()
        while send_due(engine=engine, settings=settings).claimed:
            pass
        seconds = time.perf_counter() - started
        engine.dispose()
    if counter.count != messages:
        raise SystemExit(f"worker: the server got {counter.count} of {messages} messages")
    return seconds


def bench_naive(
    messages: int, settings: services.platform.config.Settings, counter: Counter, *, prettify: bool
) -> float:
    prepared = [sample(n) for n in range(messages)]
    counter.count = 0
    started = time.perf_counter()
    for n, (subject, html, _text) in enumerate(prepared):
        with yagmail.SMTP(
            user=settings.mail_from,
            host=settings.smtp_host,
            port=settings.smtp_port,
            smtp_ssl=False,
            smtp_starttls=False,
            smtp_skip_login=True,
        ) as client:
            client.send(to=f"recruiter{n % 50}@example.com", subject=subject, contents=html, prettify_html=prettify)
    seconds = time.perf_counter() - started
    if counter.count != messages:
        raise SystemExit(f"naive: the server got {counter.count} of {messages} messages")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each; the fastest is reported")
    args = parser.parse_args()

    counter = Counter()
    port = free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    try:
        settings = configure(port, args.batch_size)
        n, runs = args.messages, {"worker": [], "naive": [], "naive_plain": []}
        for _ in range(args.repeat):  # interleaved, so a busy moment on the machine hits all three alike
            runs["worker"].append(bench_worker(n, settings, counter))
            runs["naive"].append(bench_naive(n, settings, counter, prettify=True))
            runs["naive_plain"].append(bench_naive(n, settings, counter, prettify=False))
        # The fastest of each: on a shared machine the slower runs measure the neighbours.
        worker, naive, naive_plain = (min(runs[k]) for k in ("worker", "naive", "naive_plain"))
    finally:
        controller.stop()

    rate = {
        name: args.messages / seconds
        for name, seconds in (("worker", worker), ("naive", naive), ("naive_plain", naive_plain))
    }
    print(
        f"{args.messages} messages into aiosmtpd on 127.0.0.1:{port} (SQLite outbox, batch {args.batch_size}, "
        f"best of {args.repeat})"
    )
    print(f"  worker: send_due in a loop                   {worker:6.2f} s  {rate['worker']:6.0f} msg/s")
    print(f"  naive: yagmail.SMTP(...).send(...) each      {naive:6.2f} s  {rate['naive']:6.0f} msg/s")
    print(f"  naive, its HTML prettifying off (best case)  {naive_plain:6.2f} s  {rate['naive_plain']:6.0f} msg/s")
    ratio, ratio_plain = rate["worker"] / rate["naive"], rate["worker"] / rate["naive_plain"]
    print(f"  worker / naive {ratio:.2f}x  (against its best case {ratio_plain:.2f}x)")
    verdict = "met" if rate["worker"] >= 300 and ratio >= 2 else "MISSED"
    print(f"  target (worker >= 300 msg/s and >= 2x naive): {verdict}")


if __name__ == "__main__":
    main()
