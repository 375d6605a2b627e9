"""One settings object, read from FOLLOWUP_* environment variables and .streamlit/secrets.toml."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]  # services/platform/config.py
DATA_DIR = ROOT / "data"
SECRETS_FILE = ROOT / ".streamlit" / "secrets.toml"
PLACEHOLDER_SECRETS = {"", "changethis", "change-me", "secret", "please-change"}


class _SecretsTomlSource(PydanticBaseSettingsSource):
    """Reads a `[followup]` table from .streamlit/secrets.toml, the Streamlit habit for settings."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # noqa: ARG002 - pydantic-settings' signature
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = Path(os.environ.get("FOLLOWUP_SECRETS_FILE", SECRETS_FILE))
        if not path.is_file():
            return {}
        with path.open("rb") as fh:
            table = tomllib.load(fh).get("followup", {})
        return {str(k).lower(): v for k, v in table.items()}


class Settings(BaseSettings):
    """Everything the app reads from its environment; see README for each setting."""

    model_config = SettingsConfigDict(env_prefix="FOLLOWUP_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = ""
    secret_key: str = ""
    base_url: str = "http://localhost:8501"
    timezone: str = "Asia/Shanghai"
    language: Literal["zh", "en"] = "zh"
    auth_header: str = ""
    session_days: int = 7
    login_max_failures: int = 5
    login_lock_minutes: int = 15

    # Mail: with no SMTP host the app still works and messages wait in the outbox, marked held.
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_security: Literal["ssl", "starttls", "none"] = "starttls"
    smtp_timeout: float = 20.0
    mail_from: str = "noreply@example.com"
    mail_from_name: str = "招聘团队 Recruiting"
    mail_retry_seconds: float = 60.0
    mail_max_attempts: int = 8
    mail_batch_size: int = 100
    mail_lease_seconds: int = 300
    embedded_worker: bool = True
    # How this process names itself in the X-Followup-Server header and the worker heartbeat (default: the host
    # name, with the port for an app server); set one per app server behind a proxy, e.g. "app1".
    server_name: str = ""
    worker_interval_seconds: float = 5.0
    reminder_interval_seconds: float = 60.0
    stale_application_days: int = 7
    # Follow-up: word to every candidate within this many hours after an interview, a warning this long before.
    feedback_hours: int = 24
    feedback_warn_hours: int = 4
    offer_risk_days: int = 3
    survey_days: int = 14
    digest_hour: int = 8

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - pydantic-settings' signature: not read (no .env)
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - nor secret files
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SecretsTomlSource(settings_cls))

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{DATA_DIR / 'followup.db'}"

    @property
    def mail_configured(self) -> bool:
        return bool(self.smtp_host)

    @property
    def smtp_port_effective(self) -> int:
        return self.smtp_port or {"ssl": 465, "starttls": 587, "none": 25}[self.smtp_security]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def make_private_dir(path: Path) -> None:
    """Create `path` (and its parents) readable by this user only; an existing folder is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)


def create_private_file(path: Path, content: bytes = b"") -> bool:
    """Create `path` with mode 0600 from the start (never readable by others, not even for a moment), holding
    `content`; False when it exists already (then it is left untouched)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    return True


def _kept_secret_key() -> str:
    """The key generated on first start and kept under data/, so sessions survive a restart."""
    path = DATA_DIR / "secret_key"
    if not path.is_file():
        make_private_dir(DATA_DIR)
        # O_EXCL: when two processes start at once, one writes the key and both read that one.
        create_private_file(path, secrets.token_urlsafe(48).encode())
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)  # the other process is between creating the file and writing the key
    raise RuntimeError(f"{path} is empty; delete it to have a new key generated")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; a placeholder secret is refused outside development."""
    settings = Settings()
    if settings.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
        if settings.secret_key and settings.environment == "production":
            raise ValueError("FOLLOWUP_SECRET_KEY is a placeholder; set a real secret in production")
        settings.secret_key = _kept_secret_key()
    return settings
