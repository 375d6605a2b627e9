"""Domain errors. Each carries a message key (see services.platform.i18n) that the page shows translated."""

from __future__ import annotations

from typing import Any

import pydantic


class DomainError(Exception):
    """Base of every error a page turns into a message."""

    key = "err.generic"
    plural: str | None = None  # the parameter that counts something: the message takes its plural form

    def __init__(self, key: str | None = None, *, plural: str | None = None, **params: Any) -> None:
        self.key = key or self.key
        self.plural = plural or self.plural
        self.params = params
        super().__init__(f"{self.key} {params}" if params else self.key)


class NotFound(DomainError):
    key = "err.not_found"


class NotAllowed(DomainError):
    key = "err.not_allowed"


class InvalidTransition(DomainError):
    key = "err.invalid_transition"


class Conflict(DomainError):
    """Someone else saved the record first; `current` holds what they saved."""

    key = "err.conflict"

    def __init__(self, key: str | None = None, *, current: Any = None, **params: Any) -> None:
        super().__init__(key, **params)
        self.current = current


class AuthFailed(DomainError):
    key = "err.sign_in_failed"


class ValidationError(DomainError):
    """Bad input: `fields` maps each field name to (message key, params)."""

    key = "err.validation"

    def __init__(self, fields: dict[str, tuple[str, dict[str, Any]]], key: str | None = None) -> None:
        super().__init__(key)
        self.fields = fields

    @classmethod
    def single(cls, field: str, key: str, **params: Any) -> ValidationError:
        return cls({field: (key, params)})

    @classmethod
    def from_pydantic(cls, exc: pydantic.ValidationError) -> ValidationError:
        fields: dict[str, tuple[str, dict[str, Any]]] = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err.get("loc") else "__all__"
            fields.setdefault(field, _message_for(err))
        return cls(fields)


def _message_for(err: Any) -> tuple[str, dict[str, Any]]:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        text = str(ctx.get("error", ""))
        return (text if text.startswith("err.") else "err.invalid", {})
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return ("err.required", {})
    if kind == "string_too_short":
        return ("err.too_short", {"min": ctx.get("min_length")})
    if kind == "string_too_long":
        return ("err.too_long", {"max": ctx.get("max_length")})
    if kind == "too_long":  # a list with too many items
        return ("err.too_many", {"max": ctx.get("max_length")})
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return ("err.out_of_range", {})
    if kind.startswith(("int_", "float_", "decimal_")):
        return ("err.not_a_number", {})
    if kind in {"enum", "literal_error"}:
        return ("err.choice_invalid", {})
    if kind.startswith("date") or kind.startswith("datetime"):
        return ("err.date_invalid", {})
    return ("err.invalid", {})


def validate(schema: type[pydantic.BaseModel], data: Any) -> Any:
    """Build `schema` from `data`, turning pydantic's errors into a ValidationError with message keys."""
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError.from_pydantic(exc) from None
