"""The small interface a vendor module implements: routes, item locations, error bodies.

A vendor module builds one `Vendor` and nothing else; the server (simulator/server.py) owns
routing, auth, request ids, faults, drift, JSON encoding and credit counting, and calls the
vendor's `error` builder so each vendor's 401 / 429 / quota bodies follow its own contract.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any, Literal

from simulator.world import World

# Failures the server answers on a vendor's behalf; the vendor picks status and body for each.
ErrorKind = Literal[
    "auth_missing",  # no credentials presented
    "auth_invalid",  # wrong credentials, or FaultConfig.auth_fail
    "quota",  # FaultConfig.quota_after reached (KeyAPI 402, EnsembleData 495, ...)
    "rate_limit",  # injected 429; the server adds Retry-After
    "internal",  # injected 500, or a handler that raised
    "unavailable",  # injected 503
    "not_found",  # no route for this method and path
]


@dataclass(frozen=True)
class Request:
    """One vendor request as a handler sees it; `path` is relative to the vendor's mount."""

    method: str
    path: str
    path_params: dict[str, str]
    query: dict[str, str]  # first value of each parameter; blank values kept as ""
    headers: Message
    body: bytes
    request_id: str  # a fresh uuid4, for vendors that echo one
    now: datetime  # the simulator's clock: what is published yet
    world: World
    options: Mapping[str, Any] = field(default_factory=dict)  # FaultConfig.options
    state: dict[str, Any] = field(default_factory=dict)  # per-vendor scratch, reset with faults


# (status, body) or (status, body, extra response headers), e.g. a per-request cost header.
Handler = Callable[[Request], tuple[int, Any] | tuple[int, Any, Mapping[str, str]]]


@dataclass(frozen=True)
class Route:
    """One endpoint: its handler and where FaultConfig.drift applies in a 200 body."""

    handler: Handler
    items: Callable[[Any], list[dict[str, Any]]]  # the items of a success body
    drop_field: str  # a non-key field the "missing_field" drift removes
    retype_field: str  # a count the "type_change" drift turns into a string
    cost: int = 1  # credits a successful call spends; 0 for free endpoints


@dataclass(frozen=True)
class Vendor:
    """A vendor contract, mounted by the server under `/<name>`."""

    name: str
    # (method, path) -> Route; a path segment "{param}" matches any one segment.
    routes: Mapping[tuple[str, str], Route]
    # (kind, request_id) -> (status, body) in the vendor's own error format.
    error: Callable[[ErrorKind, str], tuple[int, Any]]
    auth: Literal["bearer", "query", "none"] = "bearer"  # header, query parameter, or
    # "none": the vendor's handlers check credentials themselves (OAuth access tokens)
    token_param: str = "token"  # the query parameter holding the key when auth == "query"
    # A response header stating the credits a billable 200 spent (EnsembleData `units_charged`);
    # the route's `cost` unless the handler's own headers state it (a cost that varies per call).
    cost_header: str | None = None
    # Credentials a client needs besides the server's key, as dlt setting name -> value
    # (TikTok Research's OAuth CLIENT_KEY / CLIENT_SECRET); see Simulator.source_env().
    client_settings: Mapping[str, str] = field(default_factory=dict)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a request and its path parameters, or None."""
        if (route := self.routes.get((method, path))) is not None:
            return route, {}
        segments = path.strip("/").split("/")
        for (route_method, pattern), route in self.routes.items():
            parts = pattern.strip("/").split("/")
            if route_method != method or len(parts) != len(segments):
                continue
            params = {}
            for part, segment in zip(parts, segments, strict=True):
                if part.startswith("{") and part.endswith("}"):
                    params[part[1:-1]] = segment
                elif part != segment:
                    break
            else:
                return route, params
        return None
