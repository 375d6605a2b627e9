"""SQLModel tables and their Create/Update/Public schemas; importing this registers every table."""

from models.audit import AuditLog
from models.candidate import Application, Candidate, StageChange
from models.evaluation import (
    Criterion,
    Decision,
    Interview,
    InterviewPanelist,
    InterviewRound,
    Scorecard,
    ScorecardRating,
)
from models.followup import Contact, Intent, PoolEntry, SurveyInvite, SurveyResponse
from models.import_mapping import ImportMapping
from models.job import Job
from models.mail import OutboxAttachment, OutboxMessage, Reminder
from models.metrics import ApplicationFact, InterviewFact, MetricDirty, ScorecardFact, StayFact
from models.onboard import (
    ApproverRule,
    AppSetting,
    CheckIn,
    ChecklistItem,
    Material,
    Offer,
    OfferApproval,
    OnboardingPlan,
    OnboardTemplate,
    PlanTask,
    TemplateTask,
    TrainingSession,
)
from models.privacy import (
    AccessRecord,
    ConsentLink,
    ConsentRecord,
    PrivacyNotice,
    PrivacyRequest,
)
from models.user import AuthSession, LoginThrottle, User
from models.worker import WorkerHeartbeat

__all__ = [
    "AccessRecord",
    "ConsentLink",
    "ConsentRecord",
    "PrivacyNotice",
    "PrivacyRequest",
    "AppSetting",
    "ApproverRule",
    "CheckIn",
    "ChecklistItem",
    "Material",
    "Offer",
    "OfferApproval",
    "OnboardingPlan",
    "OnboardTemplate",
    "PlanTask",
    "TemplateTask",
    "TrainingSession",
    "Contact",
    "Intent",
    "PoolEntry",
    "SurveyInvite",
    "SurveyResponse",
    "Criterion",
    "Decision",
    "Interview",
    "InterviewPanelist",
    "InterviewRound",
    "Scorecard",
    "ScorecardRating",
    "ImportMapping",
    "Application",
    "AuditLog",
    "AuthSession",
    "Candidate",
    "Job",
    "LoginThrottle",
    "OutboxAttachment",
    "OutboxMessage",
    "Reminder",
    "StageChange",
    "User",
    "WorkerHeartbeat",
    "ApplicationFact",
    "MetricDirty",
    "InterviewFact",
    "ScorecardFact",
    "StayFact",
]
