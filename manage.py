"""Command line: migrate, create-user, seed-demo, backup.

    python manage.py migrate
    python manage.py create-user --email a@b.c --name "Name" --roles admin,recruiter [--password P]
    python manage.py seed-demo --candidates 500 [--seed 7] [--password demo-password-1]
    python manage.py backup [--to data/backups/followup-YYYYmmdd-HHMMSS.db]
    python manage.py worker [--once]
    python manage.py mail-test --to someone@example.com
"""

from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

from sqlmodel import select

import services.config
from models.common import Role
from models.user import User
from services.config import create_private_file, get_settings, make_private_dir
from services.db import migrate, session_scope
from services.errors import DomainError, ValidationError


def cmd_migrate(_args: argparse.Namespace) -> int:
    migrate()
    print(f"database is up to date: {_safe_url()}")
    return 0


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().effective_database_url).render_as_string(hide_password=True)


def cmd_create_user(args: argparse.Namespace) -> int:
    from services.auth import check_password_strength, hash_password

    migrate()
    password = args.password or getpass.getpass("Password: ")
    try:
        check_password_strength(password)
        roles = [Role(r.strip()) for r in args.roles.split(",") if r.strip()]
    except (ValidationError, ValueError) as exc:
        print(f"refused: {getattr(exc, 'fields', exc)}", file=sys.stderr)
        return 2
    from models.user import UserCreate
    from services.errors import validate

    try:
        data = validate(UserCreate, {"email": args.email, "name": args.name, "language": args.language,
                                     "roles": roles, "password": password})
    except DomainError as exc:
        print(f"refused: {getattr(exc, 'fields', exc.key)}", file=sys.stderr)
        return 2
    with session_scope() as session:
        if session.exec(select(User).where(User.email == data.email)).first():
            print(f"refused: a user with {data.email} exists", file=sys.stderr)
            return 2
        user = User(email=data.email, name=data.name, language=data.language,
                    roles=",".join(sorted(r.value for r in roles)), password_hash=hash_password(password))
        session.add(user)
        session.commit()
        print(f"created user #{user.id} {user.email} ({user.roles})")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from services.demo import seed_demo

    migrate()
    started = datetime.now()
    with session_scope() as session:
        try:
            counts = seed_demo(session=session, candidates=args.candidates, seed=args.seed, password=args.password)
        except ValueError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 2
    seconds = (datetime.now() - started).total_seconds()
    print(f"seeded {counts} in {seconds:.1f}s; demo accounts admin@, recruiter@, manager@, interviewer@example.com "
          f"with password {args.password!r}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    url = get_settings().effective_database_url
    if not url.startswith("sqlite"):
        print("PostgreSQL: use `pg_dump --format=custom --file=followup.dump \"$FOLLOWUP_DATABASE_URL\"` "
              "(restore with pg_restore); this command copies the SQLite file only.", file=sys.stderr)
        return 2
    source = Path(url.split("///", 1)[1])
    if not source.is_file():
        print(f"no database file at {source}", file=sys.stderr)
        return 2
    target = Path(args.to or services.config.DATA_DIR / "backups" / f"followup-{datetime.now():%Y%m%d-%H%M%S}.db")
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

    from services.db import get_engine
    from services.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    migrate()
    settings = get_settings()
    if not settings.mail_configured:
        print("no mail server configured (FOLLOWUP_SMTP_HOST): messages stay held in the outbox", file=sys.stderr)
    worker = Worker(get_engine(), settings)
    if args.once:
        result = worker.run_once(rules=True)
        print(f"sent {result.sent}, retrying {result.retrying}, failed {result.failed}, "
              f"new reminders {result.reminders}, digests {result.digests}")
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker.run_forever(stop)
    return 0


def cmd_mail_test(args: argparse.Namespace) -> int:
    from services.mail import queue_test_message

    migrate()
    with session_scope() as session:
        admin = session.exec(select(User).where(User.roles.contains("admin"), User.is_active)).first()
        if admin is None:
            print("refused: create an admin first", file=sys.stderr)
            return 2
        try:
            message = queue_test_message(session=session, actor=admin, to=args.to)
        except DomainError as exc:
            print(f"refused: {getattr(exc, 'fields', exc.key)}", file=sys.stderr)
            return 2
    state = "queued" if get_settings().mail_configured else "held until a mail server is configured"
    print(f"test message #{message.id} to {args.to} {state}")
    return 0


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
    p = sub.add_parser("mail-test", help="queue a test message")
    p.add_argument("--to", required=True)
    p.set_defaults(func=cmd_mail_test)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
