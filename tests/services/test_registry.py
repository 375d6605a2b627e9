"""Registration that cannot be forgotten: every reminder rule, My tasks provider and table is registered by the
one module meant to register it, and the mail/reminder machinery imports no screen."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

from sqlmodel import SQLModel

import models
import services

ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> object:
    """What `code` prints as JSON, run in a new interpreter: only what it imports is registered there."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _every_module(package) -> list[str]:  # a package module
    return [info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]


def test_every_rule_and_provider_defined_anywhere_is_registered_by_services_registry_alone() -> None:
    defined_rules, defined_providers = set(), set()
    for name in _every_module(services):
        module = importlib.import_module(name)
        for value in vars(module).values():
            if getattr(value, "__module__", None) != name:
                continue  # imported here, defined elsewhere
            if hasattr(value, "reminder_rule"):
                defined_rules.add(value.reminder_rule)
            if getattr(value, "task_provider", False):
                defined_providers.add(f"{name}.{value.__name__}")
    registered = _fresh(
        "import json, services.registry, services.mail.reminders as r, services.mail.tasks as t; "
        "print(json.dumps([sorted(r.RULES), sorted(f'{p.__module__}.{p.__name__}' for p in t.PROVIDERS)]))"
    )
    assert defined_rules and defined_providers
    assert (set(registered[0]), set(registered[1])) == (defined_rules, defined_providers), (
        "a rule or provider is defined in a module that services/registry.py does not import"
    )


def test_my_tasks_and_the_reminder_pass_refuse_to_run_before_the_registry_is_loaded() -> None:
    refused = _fresh(
        "import json\n"
        "import services.mail.reminders as reminders\n"
        "import services.mail.tasks as tasks\n"
        "out = []\n"
        "for run in (lambda: tasks.my_tasks(session=None, actor=None), lambda: reminders.run_reminders(engine=None)):\n"
        "    try:\n"
        "        run()\n"
        "    except RuntimeError as exc:\n"
        "        out.append('services.registry' in str(exc))\n"
        "print(json.dumps(out))"
    )
    assert refused == [True, True]


def test_the_mail_and_reminder_machinery_imports_no_screen() -> None:
    loaded = _fresh(
        "import json, sys\n"
        "import services.mail.outbox, services.mail.mailer, services.mail.reminders\n"
        "import services.mail.tasks, services.mail.worker\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('services'))))"
    )
    screens = {
        "services.evaluate.evaluation",
        "services.evaluate.evaluation_reminders",
        "services.follow_up.followup",
        "services.follow_up.followup_reminders",
        "services.evaluate.interview_invites",
        "services.registry",
    }
    assert screens.isdisjoint(loaded), sorted(screens & set(loaded))


def test_every_table_defined_under_models_is_registered_by_importing_models_alone() -> None:
    for name in _every_module(models):
        importlib.import_module(name)
    defined = {table.name for table in SQLModel.metadata.sorted_tables}
    registered = _fresh(
        "import json, models; from sqlmodel import SQLModel; print(json.dumps(sorted(SQLModel.metadata.tables)))"
    )
    assert set(registered) == defined, "a table's module is not imported in models/__init__.py"
    exported = {
        getattr(models, name).__tablename__
        for name in models.__all__
        if hasattr(getattr(models, name), "__tablename__")
    }
    assert exported == defined, "a table class is missing from models.__all__"
