"""The one HTTP client every vendor module uses.

It owns what no vendor module should write again: auth injection (bearer header or
query token), connect/read timeouts, retries with exponential backoff and jitter on
429 / 5xx / timeouts / broken connections (honouring `Retry-After`), a client-side
rate limit, mapping of failures onto `pipelines.errors`, request/credit counting, and
keeping the secret out of logs and exceptions.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import httpx

from .errors import (
    AuthError,
    ConfigError,
    InvalidRequest,
    MalformedResponse,
    QuotaExhausted,
    RateLimited,
    ServerError,
    VendorError,
)
from .redaction import Secret, install_log_redaction, redact

logger = logging.getLogger(__name__)
install_log_redaction("httpx", "httpcore", __name__)

_MESSAGE_PATHS = ("message", "error.message", "detail", "error", "msg")
_REQUEST_ID_PATHS = (
    "requestId",
    "request_id",
    "error.requestId",
    "error.log_id",
    "meta.request_id",
    "log_id",
)
_REQUEST_ID_HEADERS = ("x-request-id", "request-id")

EnvelopeCheck = Callable[[Any], "tuple[int, str] | None"]


class AuthProvider(Protocol):
    """Credentials that change during a run (an OAuth access token), instead of a static key.

    `header()` is asked before every attempt (it may fetch or refresh a token);
    `invalidate()` is called once when the vendor answers 401/403, and the request is then
    sent once more with a fresh `header()`.
    """

    def header(self) -> str: ...

    def invalidate(self) -> None: ...


@dataclass(frozen=True)
class VendorProfile:
    """The HTTP facts of one vendor, taken from its seed document."""

    name: str
    # "none": no credential on the request itself (an OAuth token endpoint, or the client's
    # `auth_provider` supplies the Authorization header).
    auth: Literal["bearer", "query", "none"] = "bearer"
    token_param: str = "token"
    auth_statuses: frozenset[int] = frozenset({401, 403})
    quota_statuses: frozenset[int] = frozenset({402})
    invalid_statuses: frozenset[int] = frozenset({400, 404, 422})
    quota_markers: tuple[str, ...] = ()
    credits_per_request: float = 0.0
    cost_header: str | None = None
    envelope_error: EnvelopeCheck | None = None
    # Extra detail of an error body (e.g. which field failed validation), appended to the message.
    error_detail: Callable[[Any], str | None] | None = None
    # (status, body) -> True when a 4xx still carries usable data (EnsembleData's own client
    # returns a 4xx body holding `data` as a result): it is then answered as a success.
    data_on_error: Callable[[int, Any], bool] | None = None

    @property
    def key_setting(self) -> str:
        return f"SOURCES__{self.name.upper()}__API_KEY"

    @property
    def base_url_setting(self) -> str:
        return f"SOURCES__{self.name.upper()}__BASE_URL"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# field -> (is the value usable, what it must be): a client with 0 attempts never sends,
# a negative timeout is refused by httpx mid-run; both must be refused before any request.
CLIENT_SETTING_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "connect_timeout": (lambda v: _number(v) and v > 0, "a number of seconds above 0"),
    "read_timeout": (lambda v: _number(v) and v > 0, "a number of seconds above 0"),
    "max_attempts": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
        "a whole number of at least 1 (1 sends each request once, without retries)",
    ),
    "backoff_base": (lambda v: _number(v) and v >= 0, "a number of seconds of at least 0"),
    "backoff_max": (lambda v: _number(v) and v >= 0, "a number of seconds of at least 0"),
    "max_retry_after": (lambda v: _number(v) and v >= 0, "a number of seconds of at least 0"),
    "requests_per_second": (
        lambda v: v is None or (_number(v) and v >= 0),
        "a number of at least 0 (0 turns the client-side rate limit off)",
    ),
}


def client_setting_problem(name: str, value: Any) -> str | None:
    """What a `ClientSettings` field must be, when `value` is not a usable `name`."""
    usable, requirement = CLIENT_SETTING_RULES[name]
    return None if usable(value) else requirement


@dataclass(frozen=True)
class ClientSettings:
    """Tuning that differs between the nightly run, a backfill and a test.

    Refused when built with a value the client cannot work with, so no request is ever sent
    with it (`pipelines.config.configured_source` names the vendor's setting first).
    """

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    requests_per_second: float | None = 5.0

    def __post_init__(self) -> None:
        problems = [
            f"{name}={getattr(self, name)!r} must be {problem}"
            for name in CLIENT_SETTING_RULES
            if (problem := client_setting_problem(name, getattr(self, name)))
        ]
        if problems:
            raise ConfigError(
                f"invalid HTTP client settings: {'; '.join(problems)} "
                "-> set SOURCES__<VENDOR>__<NAME> (e.g. SOURCES__KEYAPI__MAX_ATTEMPTS) "
                "to a valid value, or unset it to use the default"
            )


@dataclass
class RequestStats:
    """What a run spent: surfaced as Dagster run and asset metadata."""

    requests: int = 0
    retries: int = 0
    credits: float = 0.0
    billed: int = 0  # answers that cost credits, retried ones included
    statuses: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, status: str, credits: float = 0.0) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[status] += 1
            self.credits += credits
            self.billed += credits > 0

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def as_metadata(self) -> dict[str, int | float | str]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "credits_spent": self.credits,
            "responses_by_status": ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())),
        }


@dataclass(frozen=True)
class VendorResponse:
    """A successful, decoded answer."""

    status: int
    body: Any
    request_id: str | None


class RateLimiter:
    """Spaces requests at least 1/rps apart, across threads (and clients that share it)."""

    def __init__(self, requests_per_second: float | None) -> None:
        self._interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)


def dig(body: Any, dotted: str) -> Any:
    """`body["a"]["b"]` for "a.b"; None where a level is missing."""
    for part in dotted.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _first_text(body: Any, paths: tuple[str, ...]) -> str | None:
    for path in paths:
        value = dig(body, path)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class VendorClient:
    """An httpx client bound to one vendor's base URL, key and error contract."""

    def __init__(
        self,
        profile: VendorProfile,
        base_url: str,
        api_key: str | Secret | None,
        settings: ClientSettings | None = None,
        *,
        stats: RequestStats | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        auth_provider: AuthProvider | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        """`limiter`: another client's, when one vendor limit covers both (a token endpoint)."""
        self.profile = profile
        self.settings = settings or ClientSettings()
        self.stats = stats if stats is not None else RequestStats()
        self._auth_provider = auth_provider
        secret = api_key if isinstance(api_key, Secret) else Secret(api_key or "")
        if not secret and profile.auth != "none" and auth_provider is None:
            raise AuthError(
                profile.name,
                "no API key is configured",
                hint=f"set {profile.key_setting} (environment) or "
                f"[sources.{profile.name}] api_key in .dlt/secrets.toml",
            )
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise InvalidRequest(
                profile.name,
                f"base URL {base_url!r} is not an http(s) URL",
                hint=f"set {profile.base_url_setting}",
            )
        self._secret = secret
        self._sleep = sleep
        self.limiter = limiter or RateLimiter(self.settings.requests_per_second)
        headers = {"Accept": "application/json", "User-Agent": "tiktok-trends-warehouse/0.1"}
        if profile.auth == "bearer" and auth_provider is None:
            headers["Authorization"] = f"Bearer {secret.reveal()}"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(
                self.settings.read_timeout, connect=self.settings.connect_timeout
            ),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"VendorClient({self.profile.name!r}, {str(self._http.base_url)!r})"

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> VendorResponse:
        return self.request("GET", path, params=params)

    def post(
        self, path: str, json_body: Any = None, params: Mapping[str, Any] | None = None
    ) -> VendorResponse:
        return self.request("POST", path, params=params, json_body=json_body)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
    ) -> VendorResponse:
        """Send one logical request, retrying transient failures; raise a VendorError.

        With an `auth_provider`, a 401/403 invalidates its credential and the request is
        sent once more (a token expired or revoked early); a second refusal is raised.
        """
        try:
            return self._send(method, path, params, json_body, form)
        except AuthError as exc:
            # only a refusal of this request; the provider's own failure (e.g. a token
            # endpoint rejecting the client credentials) is final
            if self._auth_provider is None or exc.endpoint != f"{method} {path}":
                raise
            logger.warning("%s %s: credential refused, refreshing it once", method, path)
            self._auth_provider.invalidate()
            return self._send(method, path, params, json_body, form)

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
    ) -> VendorResponse:
        query = dict(params or {})
        if self.profile.auth == "query":
            query[self.profile.token_param] = self._secret.reveal()
        endpoint = f"{method} {path}"
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            retry_after: float | None = None
            # The credential first: fetching a token is a request under a shared limit too.
            headers = (
                {"Authorization": self._auth_provider.header()}
                if self._auth_provider is not None
                else None
            )
            self.limiter.wait()
            try:
                response = self._http.request(
                    method, path, params=query, json=json_body, data=form, headers=headers
                )
            except httpx.TimeoutException as exc:
                self.stats.record("timeout")
                failure: VendorError = ServerError(
                    self.profile.name,
                    f"no answer within the timeout ({type(exc).__name__})",
                    endpoint=endpoint,
                )
            except httpx.TransportError as exc:
                self.stats.record("connection_error")
                failure = ServerError(
                    self.profile.name,
                    f"connection failed ({type(exc).__name__}: {redact(str(exc))})",
                    endpoint=endpoint,
                    hint=f"check that {self.profile.base_url_setting} points at a live server",
                )
            except httpx.DecodingError as exc:  # a corrupt compressed body: like a truncated one
                self.stats.record("decoding_error")
                failure = MalformedResponse(
                    self.profile.name,
                    f"body could not be decoded ({type(exc).__name__}: {redact(str(exc))})",
                    endpoint=endpoint,
                )
                failure.retryable = True
            except httpx.HTTPError as exc:  # redirects and the rest: never let one escape raw
                self.stats.record("http_error")
                raise ServerError(
                    self.profile.name,
                    f"{type(exc).__name__}: {redact(str(exc))}",
                    endpoint=endpoint,
                    hint=f"check {self.profile.base_url_setting}",
                ) from None
            else:
                result = self._classify(response, endpoint)
                if isinstance(result, VendorResponse):
                    return result
                failure = result
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if not failure.retryable or attempt == attempts:
                raise failure
            if retry_after is not None and retry_after > self.settings.max_retry_after:
                raise failure.with_hint(
                    f"the vendor asks to wait {retry_after:.0f}s; run again later"
                )
            delay = self._delay(attempt, retry_after)
            self.stats.record_retry()
            logger.warning(
                "%s (attempt %d/%d), retrying in %.2fs", failure, attempt, attempts, delay
            )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after + random.uniform(0, min(1.0, 0.1 * max(retry_after, 0.1)))
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _credits(
        self, response: httpx.Response, endpoint: str, ok: bool, decode_error: Exception | None
    ) -> float:
        """What this answer cost. A stated cost (`cost_header`) counts on every answer that
        carries it: the vendor billed it even when its body then fails to parse and the
        request is retried, or when it is a refusal. Without one, a decoded success costs the
        documented price."""
        profile = self.profile
        price = profile.credits_per_request if ok and decode_error is None else 0.0
        stated = response.headers.get(profile.cost_header) if profile.cost_header else None
        if stated is None:
            return price
        try:
            cost = float(stated)
            if not math.isfinite(cost) or cost < 0:
                raise ValueError(stated)
            return cost
        except ValueError:  # count the documented price rather than nothing
            logger.warning(
                "%s: unreadable %s header %r; counting %s credits",
                endpoint,
                profile.cost_header,
                stated[:40],
                profile.credits_per_request,
            )
            return profile.credits_per_request

    def _classify(self, response: httpx.Response, endpoint: str) -> VendorResponse | VendorError:
        profile = self.profile
        status = response.status_code
        try:
            body: Any = response.json()
            decode_error = None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            body, decode_error = None, exc
        request_id = _first_text(body, _REQUEST_ID_PATHS) or next(
            (response.headers[h] for h in _REQUEST_ID_HEADERS if h in response.headers), None
        )
        message = _first_text(body, _MESSAGE_PATHS) or response.reason_phrase or "no message"
        if status >= 300 and profile.error_detail and (detail := profile.error_detail(body)):
            message = f"{message} ({detail})"
        if status < 300 and decode_error is None and profile.envelope_error:
            envelope = profile.envelope_error(body)
            if envelope is not None:
                status, message = envelope
        ok = status < 300 or (
            status < 500
            and decode_error is None
            and profile.data_on_error is not None
            and profile.data_on_error(status, body)
        )
        self.stats.record(str(status), self._credits(response, endpoint, ok, decode_error))
        kwargs = {"endpoint": endpoint, "status": status, "request_id": request_id}
        lowered = message.lower()
        if ok:
            if decode_error is not None:
                failure = MalformedResponse(
                    profile.name,
                    f"body is not valid JSON ({decode_error}); "
                    f"{len(response.content)} bytes received",
                    **kwargs,
                )
                failure.retryable = True  # a truncated body is usually transient
                return failure
            return VendorResponse(status, body, request_id)
        if status in profile.quota_statuses or any(m in lowered for m in profile.quota_markers):
            return QuotaExhausted(
                profile.name,
                message,
                hint="credits or daily quota are used up; what already landed is kept, "
                "re-run the failed partitions once the quota resets",
                **kwargs,
            )
        if status in profile.auth_statuses:
            return AuthError(
                profile.name,
                message,
                hint=f"check {profile.key_setting} (or [sources.{profile.name}] api_key "
                "in .dlt/secrets.toml): the key is missing, wrong or expired",
                **kwargs,
            )
        if status == 429:
            return RateLimited(profile.name, message, **kwargs)
        if status in profile.invalid_statuses:
            return InvalidRequest(profile.name, message, **kwargs)
        if status >= 500:
            return ServerError(profile.name, message, **kwargs)
        return InvalidRequest(profile.name, message, **kwargs)
