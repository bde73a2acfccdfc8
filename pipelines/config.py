"""Watch settings every vendor shares: strict models and one way to report what is wrong.

A typo in the watchlist must fail before any request and name the key (`trendtrack.queries.0.type:
...`), never silently track nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError


class StrictModel(BaseModel):
    """Unknown keys are errors, and a validated watch cannot change under a running source."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Model = TypeVar("Model", bound=BaseModel)


def problems(exc: ValidationError, *prefix: str) -> str:
    """Every validation error as `dotted.key: message`, joined."""
    return "; ".join(
        f"{'.'.join(str(p) for p in (*prefix, *err['loc']))}: {err['msg']}" for err in exc.errors()
    )


def validate_watch(model: type[Model], watch: Model | Mapping[str, Any] | None, key: str) -> Model:
    """`watch` (the watchlist's `key` section, or a plain dict) as `model`, or a ConfigError."""
    if isinstance(watch, model):
        return watch
    try:
        return model.model_validate(dict(watch or {}))
    except ValidationError as exc:
        raise ConfigError(f"{key} watch is invalid: {problems(exc, key)}") from None
