"""Every screen's reminder rules and My tasks providers, registered in one place.

The reminder engine (`services.mail.reminders`) and My tasks (`services.mail.tasks`) know no screen: a screen's
module adds its rules and providers with the `@rule` and `@provider` decorators, which register them when the module is
imported, and this module imports every such module. Whatever runs rules or lists tasks — the app's frame, the
worker's entry points, manage.py, the tests — imports this first; `run_reminders` and `my_tasks` refuse to run
before it has been imported, so a screen left out is an error at once, never a reminder silently not sent.
`tests/services/test_registry.py` fails on a rule or provider defined in a module this list misses.
"""

from __future__ import annotations

from services.evaluate import evaluation_reminders
from services.follow_up import followup_reminders
from services.mail import reminders, tasks
from services.onboard import offer_reminders

# The modules that contribute rules or providers, besides the engine's own (stale applications, mail drafts).
SCREENS = (evaluation_reminders, followup_reminders, offer_reminders)

from services.onboard import plan_reminders  # noqa: E402 - onboarding plans (issue 11): tasks, check-ins, probation

SCREENS = (*SCREENS, plan_reminders)  # type: ignore[assignment]  # one screen more per block appended

reminders.RULES_COMPLETE = tasks.PROVIDERS_COMPLETE = True

# Modules that register worker jobs (services.mail.worker's @job) and nothing else: imported here so that the worker
# runs them.
from services.onboard import welcome as onboard_welcome  # noqa: E402

JOB_MODULES = (onboard_welcome,)

from services.metrics import digest as metrics_digest  # noqa: E402 - the weekly metrics digest (issue 12)

JOB_MODULES = (*JOB_MODULES, metrics_digest)  # type: ignore[assignment]

# Privacy (issue 13, records): open requests to see or erase data on admins' My tasks; the daily purge of records of
# access past the period kept.
from services.privacy import access_log as privacy_access_log  # noqa: E402
from services.privacy import privacy_requests  # noqa: E402

SCREENS = (*SCREENS, privacy_requests)  # type: ignore[assignment]
JOB_MODULES = (*JOB_MODULES, privacy_access_log)  # type: ignore[assignment]

# Candidate privacy (issue 13): retention — the due list on admins' My tasks, and the daily anonymisation job.
from services.privacy import retention as privacy_retention  # noqa: E402

SCREENS = (*SCREENS, privacy_retention)  # type: ignore[assignment]
JOB_MODULES = (*JOB_MODULES, privacy_retention)  # type: ignore[assignment]
