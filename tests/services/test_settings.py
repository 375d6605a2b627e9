"""Settings: read from FOLLOWUP_* variables and secrets.toml, a secret key kept across restarts, bad values refused."""

from __future__ import annotations

import pydantic
import pytest

import services.platform.config
from services.platform.config import get_settings


def fresh_settings() -> services.platform.config.Settings:
    get_settings.cache_clear()
    return get_settings()


def test_the_defaults_need_no_configuration(isolated_settings) -> None:
    settings = fresh_settings()
    assert settings.environment == "development"
    assert settings.timezone == "Asia/Shanghai" and settings.tz.key == "Asia/Shanghai"
    assert settings.language == "zh"
    assert (settings.login_max_failures, settings.login_lock_minutes, settings.session_days) == (5, 15, 7)
    assert settings.effective_database_url == f"sqlite:///{isolated_settings / 'followup.db'}"


def test_followup_environment_variables_are_read(monkeypatch) -> None:
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", "postgresql+psycopg://app@db/followup")
    monkeypatch.setenv("FOLLOWUP_BASE_URL", "https://hire.example.com")
    monkeypatch.setenv("FOLLOWUP_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("FOLLOWUP_LANGUAGE", "en")
    monkeypatch.setenv("FOLLOWUP_LOGIN_MAX_FAILURES", "7")
    monkeypatch.setenv("FOLLOWUP_SESSION_DAYS", "1")
    monkeypatch.setenv("FOLLOWUP_AUTH_HEADER", "X-Forwarded-Email")
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", "a-real-secret-from-the-vault-1234567890")
    settings = fresh_settings()
    assert settings.effective_database_url == "postgresql+psycopg://app@db/followup"
    assert settings.base_url == "https://hire.example.com"
    assert settings.tz.key == "Europe/Berlin"
    assert (settings.language, settings.login_max_failures, settings.session_days) == ("en", 7, 1)
    assert settings.auth_header == "X-Forwarded-Email"
    assert settings.secret_key == "a-real-secret-from-the-vault-1234567890"


def test_settings_are_read_from_the_followup_table_of_secrets_toml(monkeypatch, tmp_path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[followup]\nbase_url = "https://from-toml.example.com"\nLANGUAGE = "en"\n'
        'secret_key = "toml-secret-0123456789abcdef"\n[other]\nbase_url = "ignored"\n'
    )
    monkeypatch.setenv("FOLLOWUP_SECRETS_FILE", str(secrets))
    monkeypatch.setenv("FOLLOWUP_LANGUAGE", "zh")
    settings = fresh_settings()
    assert settings.base_url == "https://from-toml.example.com"
    assert settings.secret_key == "toml-secret-0123456789abcdef"
    assert settings.language == "zh"  # the environment wins over the file


def test_a_secret_key_is_generated_once_and_kept(isolated_settings) -> None:
    first = fresh_settings().secret_key
    assert len(first) >= 40
    key_file = isolated_settings / "secret_key"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert fresh_settings().secret_key == first


def test_the_settings_object_is_cached_for_the_process(monkeypatch) -> None:
    settings = fresh_settings()
    monkeypatch.setenv("FOLLOWUP_BASE_URL", "https://changed.example.com")
    assert get_settings() is settings
    assert fresh_settings().base_url == "https://changed.example.com"


@pytest.mark.parametrize("placeholder", ["changethis", "CHANGETHIS", "secret", "change-me", " please-change "])
def test_a_placeholder_secret_is_refused_in_production(monkeypatch, isolated_settings, placeholder) -> None:
    monkeypatch.setenv("FOLLOWUP_ENVIRONMENT", "production")
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", placeholder)
    with pytest.raises(ValueError, match="placeholder"):
        fresh_settings()
    assert not (isolated_settings / "secret_key").exists()


def test_a_placeholder_secret_is_replaced_by_a_kept_key_in_development(monkeypatch, isolated_settings) -> None:
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", "changethis")
    settings = fresh_settings()
    assert settings.secret_key != "changethis"
    assert settings.secret_key == (isolated_settings / "secret_key").read_text().strip()


def test_production_with_a_real_secret_starts(monkeypatch) -> None:
    monkeypatch.setenv("FOLLOWUP_ENVIRONMENT", "production")
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", "k3y-from-the-vault-0123456789")
    assert fresh_settings().secret_key == "k3y-from-the-vault-0123456789"


def test_an_unknown_timezone_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("FOLLOWUP_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(pydantic.ValidationError, match="unknown time zone"):
        fresh_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [("FOLLOWUP_ENVIRONMENT", "staging"), ("FOLLOWUP_LANGUAGE", "fr"), ("FOLLOWUP_LOGIN_MAX_FAILURES", "many")],
)
def test_an_unknown_choice_or_a_non_number_is_refused(monkeypatch, name, value) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(pydantic.ValidationError):
        fresh_settings()
