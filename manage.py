"""Command line: migrate, create-user, seed-demo, backup.

python manage.py migrate
python manage.py create-user --email a@b.c --name "Name" --roles admin,recruiter [--password P]
python manage.py seed-demo --candidates 500 [--seed 7] [--password demo-password-1]
python manage.py backup [--to data/backups/followup-YYYYmmdd-HHMMSS.db]
python manage.py worker [--once]
python manage.py mail-test --to someone@example.com [--language en]
"""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlmodel import select

import services.platform.config
from models.common import Role
from models.user import User
from services.platform.config import create_private_file, get_settings, make_private_dir
from services.platform.db import migrate, session_scope
from services.platform.errors import DomainError, ValidationError


def cmd_migrate(_args: argparse.Namespace) -> int:
    migrate()
    print(f"database is up to date: {_safe_url()}")
    return 0


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().effective_database_url).render_as_string(hide_password=True)


def cmd_create_user(args: argparse.Namespace) -> int:
    from services.platform.auth import check_password_strength, hash_password

    migrate()
    password = args.password or getpass.getpass("Password: ")
    try:
        check_password_strength(password)
        roles = [Role(r.strip()) for r in args.roles.split(",") if r.strip()]
    except (ValidationError, ValueError) as exc:
        print(f"refused: {getattr(exc, 'fields', exc)}", file=sys.stderr)
        return 2
    from models.user import UserCreate
    from services.platform.errors import validate

    try:
        data = validate(
            UserCreate,
            {"email": args.email, "name": args.name, "language": args.language, "roles": roles, "password": password},
        )
    except DomainError as exc:
        print(f"refused: {getattr(exc, 'fields', exc.key)}", file=sys.stderr)
        return 2
    with session_scope() as session:
        if session.exec(select(User).where(User.email == data.email)).first():
            print(f"refused: a user with {data.email} exists", file=sys.stderr)
            return 2
        user = User(
            email=data.email,
            name=data.name,
            language=data.language,
            roles=",".join(sorted(r.value for r in roles)),
            password_hash=hash_password(password),
        )
        session.add(user)
        session.flush()
    print(f"created user #{user.id} {user.email} ({user.roles})")  # once committed, at the end of the scope
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError

    from services.platform.demo import DEMO_USERS, seed_demo

    migrate()
    started = datetime.now()
    try:  # outside the scope: a refusal leaves the scope by its exception, so nothing of the seed is committed
        with session_scope() as session:
            counts = seed_demo(session=session, candidates=args.candidates, seed=args.seed, password=args.password)
    except ValueError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    except IntegrityError as exc:  # a clash with data that exists: one line, not a traceback
        print(
            f"refused: the demo data clashes with what is in the database ({str(exc.orig).splitlines()[0]})",
            file=sys.stderr,
        )
        return 2
    seconds = (datetime.now() - started).total_seconds()
    kept = counts.pop("kept", [])
    new = [email for email, *_ in DEMO_USERS if email not in kept]
    print(f"seeded {counts} in {seconds:.1f}s")
    if new:
        print(f"demo accounts {', '.join(new)} with password {args.password!r}")
    if kept:
        print(f"existing accounts kept as they were (password unchanged): {', '.join(kept)}")
    return 0


def cmd_rebuild_metric_facts(_args: argparse.Namespace) -> int:
    from services.metrics.facts import rebuild_facts
    from services.platform.db import get_engine

    migrate()
    started = datetime.now()
    count = rebuild_facts(get_engine())
    print(f"metric facts of {count} applications built in {(datetime.now() - started).total_seconds():.1f}s")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    url = get_settings().effective_database_url
    if not url.startswith("sqlite"):
        print(
            'PostgreSQL: use `pg_dump --format=custom --file=followup.dump "$FOLLOWUP_DATABASE_URL"` '
            "(restore with pg_restore); this command copies the SQLite file only.",
            file=sys.stderr,
        )
        return 2
    source = Path(url.split("///", 1)[1])
    if not source.is_file():
        print(f"no database file at {source}", file=sys.stderr)
        return 2
    backups = services.platform.config.DATA_DIR / "backups"
    target = Path(args.to or backups / f"followup-{datetime.now():%Y%m%d-%H%M%S}.db")
    make_private_dir(target.parent)
    create_private_file(target)  # 0600 before a byte of the copy is in it (an existing target keeps its mode)
    # SQLite's online backup API gives a consistent copy even while the app is writing.
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    print(f"backup written to {target}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading

    import services.registry  # noqa: F401 - every screen's reminder rules
    from services.mail.worker import Worker
    from services.platform.db import database_problem, get_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    delay = 1.0
    while True:  # a worker started while the database is away waits for it instead of exiting
        try:
            migrate()
            break
        except Exception as exc:
            if database_problem(exc) is None or args.once:
                raise
            logging.getLogger("followup.worker").warning(
                "database unavailable at start (%s); trying again in %.0fs", type(exc).__name__, delay
            )
            if stop.wait(delay):
                return 0
            delay = min(delay * 2, 30.0)
    settings = get_settings()
    if not settings.mail_configured:
        print("no mail server configured (FOLLOWUP_SMTP_HOST): messages stay held in the outbox", file=sys.stderr)
    worker = Worker(get_engine(), settings)
    if args.once:
        result = worker.run_once(rules=True)
        worker.beat()
        print(
            f"sent {result.sent}, retrying {result.retrying}, failed {result.failed}, "
            f"new reminders {result.reminders}, digests {result.digests}, jobs {result.jobs}"
        )
        return 0
    worker.run_forever(stop)
    return 0


def cmd_mail_test(args: argparse.Namespace) -> int:
    """Queue a test message and, with a mail server configured, send it now and say what the server answered.

    Needs no account (an operator checks the mail server before anyone has signed in)."""
    from models.mail import MailStatus, OutboxMessage
    from services.mail.mailer import send_due
    from services.mail.outbox import queue_operator_test_message
    from services.platform.db import get_engine

    migrate()
    settings = get_settings()
    try:
        with session_scope() as session:
            message = queue_operator_test_message(session=session, to=args.to, language=args.language)
    except DomainError as exc:
        print(f"refused: {getattr(exc, 'fields', exc.key)}", file=sys.stderr)
        return 2
    if not settings.mail_configured:
        print(f"test message #{message.id} to {args.to} held until a mail server is configured (FOLLOWUP_SMTP_HOST)")
        return 0
    result = send_due(engine=get_engine(), settings=settings)
    with session_scope() as session:
        row = session.get(OutboxMessage, message.id)
    if row is not None and row.status == MailStatus.sent:
        note = f" ({row.last_error})" if row.last_error else ""
        print(
            f"test message #{message.id} sent to {args.to} through {settings.smtp_host}:"
            f"{settings.smtp_port_effective}{note}"
        )
        return 0
    status = row.status if row is not None else "unknown"
    reason = (row.last_error if row is not None and row.last_error else "; ".join(result.errors)) or "not sent"
    print(f"test message #{message.id} to {args.to} not sent ({status}): {reason}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="manage.py", description="Interview Follow-up administration")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)
    p = sub.add_parser("create-user", help="create a local account")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--roles", default="recruiter", help="comma-separated: " + ",".join(r.value for r in Role))
    p.add_argument("--language", default="zh", choices=["zh", "en"])
    p.add_argument("--password", help="asked for when omitted")
    p.set_defaults(func=cmd_create_user)
    p = sub.add_parser("seed-demo", help="fill an empty database with realistic demo data")
    p.add_argument("--candidates", type=int, default=300)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--password", default="demo-password-1")
    p.set_defaults(func=cmd_seed_demo)
    p = sub.add_parser("backup", help="consistent copy of the SQLite database")
    p.add_argument("--to")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("worker", help="send mail and evaluate reminders (runs until stopped)")
    p.add_argument("--once", action="store_true", help="handle what is due now and exit")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("mail-test", help="send a test message now (no account needed) and report the result")
    p.add_argument("--to", required=True)
    p.add_argument("--language", default="zh", choices=["zh", "en"])
    p.set_defaults(func=cmd_mail_test)
    sub.add_parser(
        "rebuild-metric-facts", help="build the Metrics screen's facts of every application anew"
    ).set_defaults(func=cmd_rebuild_metric_facts)
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.func
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
