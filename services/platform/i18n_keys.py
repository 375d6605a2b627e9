"""The keys the code builds from a prefix and a value (f"stage.{stage}", f"task.{task.kind}"), enumerated from
the enums and tables the values come from.

`pybabel extract` reads only literal keys; these it gets from `extract`, a Babel extractor (babel.cfg), so that
`pybabel update` keeps them instead of marking them obsolete. The missing-text test checks that every prefix the
code builds keys from is listed here and that each key exists in both catalogs. Not imported by the app.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlmodel import SQLModel

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates" / "mail"
TASK_KIND_RE = re.compile(r"""Task\(\s*kind\s*=\s*["']([a-z_]+)["']""")


def _found(pattern: re.Pattern[str], folder: str) -> set[str]:
    return {m for p in sorted((ROOT / folder).rglob("*.py")) for m in pattern.findall(p.read_text(encoding="utf-8"))}


def _audit_actions() -> set[str]:
    """Every audit action the services write: the strings given as `action=` or assigned to `action`."""
    found: set[str] = set()
    for path in sorted((ROOT / "services").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            values = [k.value for k in node.keywords if k.arg == "action"] if isinstance(node, ast.Call) else []
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "action" for t in node.targets):
                values.append(node.value)
            found |= {
                c.value for v in values for c in ast.walk(v) if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
    return found


def _field_names() -> set[str]:
    """Every field a form validates or an import reads (the fields of every schema, i.e. every model that is not a
    table): their labels are "field.<name>"."""
    import models
    from services.evaluate.interview_import import HEADERS as INTERVIEW_HEADERS
    from services.pipeline.importer import CANDIDATE_FIELDS, HEADERS

    schemas = {
        cls
        for module in pkgutil.iter_modules(models.__path__)
        for cls in vars(importlib.import_module(f"models.{module.name}")).values()
        if isinstance(cls, type)
        and issubclass(cls, SQLModel)
        and cls is not SQLModel
        and getattr(cls, "__table__", None) is None
        and cls.__module__.startswith("models.")
        and cls.__name__.endswith(("Create", "Update", "In", "Base", "Fields"))
    }
    return (
        {f for s in schemas for f in s.model_fields}
        | set(HEADERS.values())
        | set(INTERVIEW_HEADERS.values())
        | set(CANDIDATE_FIELDS)
        | _validated_fields()
    )


def _validated_fields() -> set[str]:
    """Fields a service names in a ValidationError (`ValidationError.single("to", …)`, `_addresses(…, "cc", …)`)
    and the places a page keeps for a field's message (`show_error(exc, {"old_password": slot, …})`)."""
    found: set[str] = set()
    for path in code_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "single" and node.args:
                found |= _strings(node.args[:1])
            elif name == "_addresses" and len(node.args) > 1:
                found |= _strings(node.args[1:2])
            elif (
                name in ("show_error", "show_validation") and len(node.args) > 1 and isinstance(node.args[1], ast.Dict)
            ):
                found |= _strings([k for k in node.args[1].keys if k is not None])
    return found


def _strings(nodes: list[Any]) -> set[str]:
    return {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def dynamic_keys() -> dict[str, set[str]]:
    """Every key the code builds from a prefix, by prefix: {"stage.": {"interviewing", …}, …}."""
    from models.candidate import SOURCES
    from models.common import JobStatus, Role, Stage
    from models.evaluation import (
        DECISION_REASONS,
        CriterionBase,
        DecisionKind,
        InterviewMode,
        InterviewStatus,
        Recommendation,
    )
    from models.followup import Channel, Direction, Outcome, SurveyAnswerIn
    from models.mail import MailStatus
    from models.onboard import DeclineReason, OfferStatus, SalaryPeriod
    from services.follow_up.followup import BOARD_STATES
    from services.follow_up.followup import TEMPLATES as FOLLOW_UP_TEMPLATES
    from services.metrics.charts import BUCKET_ORDER
    from services.metrics.filters import BASES
    from services.metrics.funnel import STEPS
    from services.metrics.quality import BANDS as QUALITY_BANDS
    from services.metrics.quality import OUTCOMES as QUALITY_OUTCOMES
    from services.metrics.selection import GROUPS as SELECTION_GROUPS

    mails = {p.name.split(".")[0] for p in TEMPLATES.glob("*.j2") if not p.name.startswith("_")}
    return {
        "stage.": {s.value for s in Stage},
        "role.": {r.value for r in Role},
        "job_status.": {s.value for s in JobStatus},
        "source.": set(SOURCES),
        "mail_status.": {s.value for s in MailStatus},
        # evaluation.set_interview_status records the interview's new status as the action.
        "audit.": _audit_actions() | {InterviewStatus.cancelled.value, InterviewStatus.no_show.value},
        "decision.": {k.value for k in DecisionKind},
        "reason.": {r for reasons in DECISION_REASONS.values() for r in reasons},
        "rec.": {r.value for r in Recommendation} | {"None"},  # a scorecard saved without a recommendation
        "channel.": {c.value for c in Channel},
        "direction.": {d.value for d in Direction},
        "outcome.": {o.value for o in Outcome},
        "template.": set(FOLLOW_UP_TEMPLATES) | mails,  # a draft of any template is reviewed under its name
        "iv_mode.": {m.value for m in InterviewMode},
        # Stored statuses and the two evaluation.list_interviews derives for an interview that has ended.
        "iv_status.": {s.value for s in InterviewStatus} | {"awaiting_scorecards", "completed"},
        "fu_state.": set(BOARD_STATES),
        "task.": _found(TASK_KIND_RE, "services"),
        "rounds.": {f for f in CriterionBase.model_fields if f.endswith(("_zh", "_en"))},
        "survey.": {f for f in SurveyAnswerIn.model_fields if f not in ("nps", "comment")}
        | {f"scale_{n}" for n in range(1, 6)},
        "survey.scale_": {str(n) for n in range(1, 6)},
        "fu.survey_by_": {"job", "stage"},  # followup.survey_summary's groupings
        "fu.mail_": {"held", "retrying", "failed"},  # followup's mail_problem: why a candidate's mail has not gone
        "field.": _field_names(),
        # offers (services/onboard/offers.py, ui/onboard_offers.py, pages/offer_answer.py)
        "offer_status.": {s.value for s in OfferStatus},
        "decline.": {r.value for r in DeclineReason},
        "offer_period.": {p.value for p in SalaryPeriod},
        # metrics (services/metrics/charts.py, ui/metrics_view.py, pages/metrics.py)
        "metrics.basis.": set(BASES),
        "metrics.funnel.explain_": {"cohort", "activity"},
        "metrics.funnel.overall_": {"cohort", "activity"},
        "metrics.step.": set(STEPS),
        "metrics.bucket.": set(BUCKET_ORDER),
        "metrics.exit.": {"rejected", "withdrew", "declined_offer", "talent_pool"},
        "metrics.experience.title_": {"job", "stage"},
        "metrics.quality.title_by_": {"round", "interviewer"},
        "metrics.band.": {b for b, _ in QUALITY_BANDS},
        "metrics.outcome.": set(QUALITY_OUTCOMES),
        "metrics.group_by.": set(SELECTION_GROUPS),
        "metrics.tab.": {"funnel", "speed", "offers", "sources", "experience", "calibration", "quality", "fairness"},
    }


# The code's own folders: the keys it holds as data (an error's key, a list of risks) are looked up elsewhere.
CODE = ["pages", "ui", "services", "models", "server"]
CODE_FILES = ["app.py", "manage.py"]
# Not texts: names of service functions (policy.py), and this file's own prefixes and file names.
NOT_TEXTS = {ROOT / "services" / "platform" / "policy.py", Path(__file__).resolve()}
HOSTS_AND_FILES = (".org", ".com", ".net", ".cn", ".io", ".py")
VALUE_ERROR_RE = re.compile(r"""ValueError\(\s*["'](err\.[a-z_]+)["']""")


def code_files() -> list[Path]:
    """The app's Python files that may hold texts' keys."""
    files = [p for d in CODE for p in sorted((ROOT / d).rglob("*.py")) if p not in NOT_TEXTS]
    return files + [ROOT / f for f in CODE_FILES]


def data_keys(prefixes: set[str]) -> dict[str, str]:
    """Every string literal in the code shaped like a key of one of `prefixes` ("err.not_found" handed to an
    error, "risk.silent" kept in a list), with the first file that holds it."""
    alternatives = "|".join(map(re.escape, sorted(prefixes)))
    pattern = re.compile(rf"""["']((?:{alternatives})(?:\.[a-z0-9_]+)+)["']""")
    found: dict[str, str] = {}
    for path in code_files():
        text = path.read_text(encoding="utf-8")
        for key in pattern.findall(text) + VALUE_ERROR_RE.findall(text):
            if not key.endswith(HOSTS_AND_FILES):  # "mail.example.org", "app.py" look like keys
                found.setdefault(key, str(path.relative_to(ROOT)))
    return found


def extract(
    fileobj: Any,  # noqa: ARG001 - Babel's extractor signature
    keywords: Any,  # noqa: ARG001
    comment_tags: Any,  # noqa: ARG001
    options: dict[str, Any],  # noqa: ARG001
) -> Iterator[tuple[Any, ...]]:
    """Babel extractor (babel.cfg maps this file to it): every key of `dynamic_keys` and every key the
    code holds as data (`data_keys`), the counted ones (a plural entry in the Chinese catalog) as ngettext."""
    from services.platform.i18n import read_catalog

    catalog = read_catalog("zh")
    counted = {m.id[0] for m in catalog if m.id and not isinstance(m.id, str)}
    found = {prefix + value: f"built as {prefix}{{…}}" for prefix, values in dynamic_keys().items() for value in values}
    prefixes = {(m.id if isinstance(m.id, str) else m.id[0]).split(".", 1)[0] for m in catalog if m.id}
    for key in data_keys(prefixes):
        found.setdefault(key, "")
    for key, comment in sorted(found.items()):
        if key in counted:
            yield 1, "ngettext", (key, key), [comment] if comment else []
        else:
            yield 1, "gettext", key, [comment] if comment else []


# --------------------------------------------------------------------------- privacy (issue 13): notice and consent
_keys_before_consent = dynamic_keys


def dynamic_keys() -> dict[str, set[str]]:  # type: ignore[no-redef]  # each block appended adds its prefixes
    """As above, with the legal bases, consent purposes and consent methods (ui/privacy_consent.py)."""
    from models.privacy import ConsentMethod, ConsentPurpose, LegalBasis

    return _keys_before_consent() | {
        "legal_basis.": {b.value for b in LegalBasis},
        "purpose.": {p.value for p in ConsentPurpose},
        "consent_method.": {m.value for m in ConsentMethod},
    }
