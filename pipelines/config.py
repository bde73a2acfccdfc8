"""Settings every vendor shares: strict watch models, checked dlt settings, one way to say
what is wrong.

A typo in the watchlist must fail before any request and name the key (`trendtrack.queries.0.type:
...`), never silently track nothing. A vendor's dlt settings (`SOURCES__<VENDOR>__MAX_ATTEMPTS`,
`READ_TIMEOUT`, `BACKOFF_BASE`, `REQUESTS_PER_SECOND`, `BASE_URL`, ...) are checked the same way:
`configured_source` refuses a bad one before any request, naming the setting, the value and the
fix, and `spec_source` builds a source for asset specs without reading any setting, so one
vendor's bad value never stops the definitions of the others from loading.
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from dlt.common.configuration import known_sections, resolve_configuration
from dlt.common.configuration.exceptions import ConfigValueCannotBeCoercedException
from dlt.common.configuration.inject import get_fun_spec
from dlt.common.configuration.resolve import inject_section
from dlt.common.configuration.specs.base_configuration import is_secret_hint
from dlt.common.configuration.specs.config_section_context import ConfigSectionContext
from dlt.common.typing import ConfigValueSentinel
from dlt.extract.source import DltSource
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError
from .http import CLIENT_SETTING_RULES, client_setting_problem


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


# -- a vendor's dlt settings -------------------------------------------------------------------


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf


# Source settings the HTTP client does not own: field -> (is the value usable, what it must be).
SOURCE_SETTING_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "base_url": (_http_url, "an http(s) URL such as https://api.example.com"),
    "task_poll_seconds": (_seconds, "a number of seconds above 0"),
    "max_in_flight": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 16,
        "a whole number of requests from 1 (one at a time) to 16",
    ),
    "daily_quota": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "a whole number of requests of at least 1",
    ),
}


_KINDS: dict[Any, str] = {int: "a whole number", float: "a number", bool: "true or false"}


# What each checked setting must be, for the fix of a value dlt could not even read.
_RULES = {
    name: rule for name, (_, rule) in {**CLIENT_SETTING_RULES, **SOURCE_SETTING_RULES}.items()
}


def setting_problem(name: str, value: Any) -> str | None:
    """What a checked source setting must be, when `value` is not usable (else None)."""
    if name in CLIENT_SETTING_RULES:
        return client_setting_problem(name, value)
    usable, requirement = SOURCE_SETTING_RULES[name]
    return None if usable(value) else requirement


def _shown(value: Any) -> str:
    """A value as the person typed it: `-1`, not `-1.0`; text quoted."""
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def _env(vendor: str, name: str) -> str:
    return f"SOURCES__{vendor.upper()}__{name.upper()}"


def _fix(vendor: str, name: str, requirement: str, default: Any) -> str:
    unset = "" if default is None else f", or unset it to use the default {_shown(default)}"
    return (
        f"set {_env(vendor, name)} (or {name} under [sources.{vendor}] in .dlt/config.toml) "
        f"to {requirement}{unset}"
    )


def _defaults(source: Any) -> dict[str, Any]:
    """The source's parameters with their code defaults (a secret's marker as None)."""
    return {
        name: None if isinstance(p.default, ConfigValueSentinel) else p.default
        for name, p in inspect.signature(source).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _sections(source: Any) -> tuple[str, ...]:
    """Where dlt looks the source's settings up (`sources.<module>.<name>`), as it does."""
    module = sys.modules[inspect.unwrap(source).__module__]
    section = source.section or getattr(
        module, "__source_name__", module.__name__.rpartition(".")[2]
    )
    return (known_sections.SOURCES, section, source.name)


def spec_source(source: Any, **kwargs: Any) -> DltSource:
    """`source` built with every setting at its code default, reading no config at all.

    Asset specs need only the source's resource names. Building them must never resolve a
    user's settings: dlt would coerce `SOURCES__KEYAPI__REQUESTS_PER_SECOND=fast` at import,
    and one vendor's bad value would stop every vendor's definitions from loading.
    """
    return source(**{**_defaults(source), **kwargs})


def configured_source(source: Any, **kwargs: Any) -> DltSource:
    """`source` with its settings resolved from dlt config and checked, before any request.

    A value dlt cannot read (`REQUESTS_PER_SECOND=fast`) or one the client cannot work with
    (`MAX_ATTEMPTS=0`, `READ_TIMEOUT=-1`, a `BASE_URL` that is no http(s) URL) is a
    ConfigError naming the setting, the value (never a secret's) and the fix. The source is
    then built with exactly the values checked.
    """
    vendor, defaults, spec = source.name, _defaults(source), get_fun_spec(source)
    try:
        with inject_section(ConfigSectionContext(sections=_sections(source))):
            config = resolve_configuration(spec(), explicit_value=kwargs, accept_partial=True)
    except ConfigValueCannotBeCoercedException as exc:
        name = exc.field_name
        secret = is_secret_hint(spec.get_resolvable_fields().get(name, str))
        value = "(value hidden)" if secret else _shown(exc.field_value)
        kind = _KINDS.get(exc.hint, f"a valid {getattr(exc.hint, '__name__', exc.hint)}")
        raise ConfigError(
            f"{vendor} setting {_env(vendor, name)}={value} refused before any request: "
            f"it is not {kind} -> {_fix(vendor, name, _RULES.get(name, kind), defaults.get(name))}"
        ) from None
    checked = {
        name: value
        for name, value in dict(config).items()
        if name in CLIENT_SETTING_RULES or name in SOURCE_SETTING_RULES
    }
    refused = [
        f"{_env(vendor, name)}={_shown(value)} must be {requirement} -> "
        f"{_fix(vendor, name, 'such a value', defaults.get(name))}"
        for name, value in checked.items()
        if (requirement := setting_problem(name, value)) is not None
    ]
    if refused:
        raise ConfigError(f"{vendor} settings refused before any request: {'; '.join(refused)}")
    return source(**{**checked, **kwargs})
