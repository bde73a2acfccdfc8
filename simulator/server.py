"""The loopback HTTP server: each vendor mounted under `/<vendor>`, plus the `/_sim` admin API.

Everything vendors share lives here so a vendor module stays a table of routes (see
simulator/vendor.py): routing, auth (bearer header or token query parameter), request ids,
fault injection and drift, JSON encoding, and request / credit counting. The admin API lets
processes that do not share memory with the simulator (a `dagster dev`, a benchmark) set
faults and read stats:

    PUT    /_sim/faults/<vendor>   JSON body of FaultConfig fields (replaces that vendor's)
    DELETE /_sim/faults[/<vendor>] back to no faults
    GET    /_sim/stats             {vendor: {total, by_status, faults, billable, credits}}
    GET    /_sim/health            {status, seed, now, vendors}
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from simulator import ensembledata, influtics, keyapi, tiktok_research, trendtrack
from simulator.faults import FaultConfig, FaultInjector, apply_drift
from simulator.vendor import ErrorKind, Request, Vendor
from simulator.world import DEFAULT_SEED, World

logger = logging.getLogger(__name__)

# The vendors every Simulator mounts. A new vendor is one module exposing VENDOR, added here.
VENDORS: tuple[Vendor, ...] = (
    keyapi.VENDOR,
    influtics.VENDOR,
    trendtrack.VENDOR,
    ensembledata.VENDOR,
    tiktok_research.VENDOR,
)
HOST = "127.0.0.1"
_TOKEN_IN_QUERY = re.compile(r"([?&](?:token|api_key|access_token)=)[^&\s]*")

# Injected faults answered with the vendor's own error body.
_FAULT_ERRORS: dict[str, ErrorKind] = {
    "auth_fail": "auth_invalid",
    "quota": "quota",
    "429": "rate_limit",
    "500": "internal",
    "503": "unavailable",
}


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Stats:
    total: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    billable: int = 0  # successful requests of routes that cost credits
    credits: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_status": dict(sorted(self.by_status.items())),
            "faults": dict(sorted(self.faults.items())),
            "billable": self.billable,
            "credits": self.credits,
        }


class Simulator:
    """Serves every registered vendor from one `World(seed)` on 127.0.0.1.

    `now` is the clock that decides what is published yet (default: real UTC now at request
    time); it is a plain attribute, so a test can move it.
    """

    def __init__(
        self,
        seed: int = DEFAULT_SEED,
        api_keys: dict[str, str] | None = None,
        now: datetime | None = None,
    ) -> None:
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be an aware datetime (UTC)")
        self.seed = seed
        self.world = World(seed)
        self.now = now
        self.api_keys = dict(api_keys or {})  # register() adds sim-<name>-key for the rest
        self._vendors: dict[str, Vendor] = {}
        self._faults: dict[str, FaultInjector] = {}
        self._stats: dict[str, _Stats] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        for vendor in VENDORS:
            self.register(vendor)

    # -- lifecycle --------------------------------------------------------------------------

    def register(self, vendor: Vendor) -> None:
        """Mount a vendor under `/<vendor.name>` (its key defaults to `sim-<name>-key`)."""
        if vendor.name in self._vendors or vendor.name == "_sim":
            raise ValueError(f"vendor name {vendor.name!r} is taken")
        self._vendors[vendor.name] = vendor
        self._faults[vendor.name] = FaultInjector(FaultConfig())
        self._stats[vendor.name] = _Stats()
        self.api_keys.setdefault(vendor.name, f"sim-{vendor.name}-key")

    def start(self, port: int = 0) -> Self:
        """Serve in a daemon thread; port 0 picks a free one (read it from `url`)."""
        if self._server is not None:
            raise RuntimeError("simulator already started")
        self._server = _Server((HOST, port), _Handler)
        self._server.simulator = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop to notice
            name=f"simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def base_url(self, vendor: str) -> str:
        """What a pipeline configures as the vendor's base URL; the vendor's real paths follow."""
        self._vendor(vendor)
        return f"{self.url}/{vendor}"

    def source_env(self) -> dict[str, str]:
        """dlt settings (env var -> value) pointing every vendor's source at this simulator.

        One place for the demo, the tests and `python -m simulator` to read base URLs and
        credentials from, so a new vendor's settings reach all three.
        """
        env: dict[str, str] = {}
        for name, vendor in self._vendors.items():
            prefix = f"SOURCES__{name.upper()}__"
            env[f"{prefix}BASE_URL"] = self.base_url(name)
            env[f"{prefix}API_KEY"] = self.api_keys[name]
            env.update({prefix + key: value for key, value in vendor.client_settings.items()})
        return env

    @property
    def vendors(self) -> tuple[str, ...]:
        return tuple(self._vendors)

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    # -- faults and stats -------------------------------------------------------------------

    def set_faults(self, vendor: str, **fields: Any) -> FaultConfig:
        """Replace a vendor's faults (unset fields take defaults); restarts script and quota."""
        self._vendor(vendor)
        config = FaultConfig.from_dict(fields)
        self._faults[vendor] = FaultInjector(config)
        return config

    def reset_faults(self, vendor: str | None = None) -> None:
        for name in [vendor] if vendor is not None else list(self._vendors):
            self.set_faults(name)

    def stats(self, vendor: str) -> dict[str, Any]:
        """Requests since start: total, by_status, faults injected, billable, credits spent."""
        self._vendor(vendor)
        with self._lock:
            return self._stats[vendor].as_dict()

    def _vendor(self, name: str) -> Vendor:
        try:
            return self._vendors[name]
        except KeyError:
            raise ValueError(f"no vendor {name!r}; mounted: {', '.join(self._vendors)}") from None

    # -- request handling -------------------------------------------------------------------

    def _dispatch(self, method: str, target: str, headers: Message, body: bytes) -> _Reply:
        url = urlsplit(target)
        mount, _, rest = url.path.lstrip("/").partition("/")
        if mount == "_sim":
            return self._admin(method, rest, body)
        vendor = self._vendors.get(mount)
        if vendor is None:
            return _json_reply(404, {"error": f"no vendor mounted at /{mount}"})
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        reply, fault, credits = self._serve(
            vendor, method, unquote("/" + rest), query, headers, body
        )
        with self._lock:
            stats = self._stats[vendor.name]
            stats.total += 1
            stats.by_status[reply.status] += 1
            if fault is not None:
                stats.faults[fault] += 1
            if credits:
                stats.billable += 1
                stats.credits += credits
        return reply

    def _serve(
        self,
        vendor: Vendor,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Message,
        body: bytes,
    ) -> tuple[_Reply, str | None, int]:
        """Auth, route, fault, handler, drift: returns (reply, fault injected, credits spent)."""
        request_id = str(uuid.uuid4())

        def vendor_error(kind: ErrorKind, extra: list[tuple[str, str]] | None = None) -> _Reply:
            status, payload = vendor.error(kind, request_id)
            return _json_reply(status, payload, extra)

        if (denied := _auth_error(vendor, headers, query, self.api_keys[vendor.name])) is not None:
            return vendor_error(denied), None, 0
        match = vendor.match(method, path)
        if match is None:
            return vendor_error("not_found"), None, 0
        route, path_params = match

        injector = self._faults[vendor.name]
        # "The same request" for max_consecutive_faults: method, path and query minus the key.
        identity = sorted(
            (k, v)
            for k, v in query.items()
            if not (vendor.auth == "query" and k == vendor.token_param)
        )
        billable = bool(route.cost)
        fault = injector.draw(f"{method} {path} {identity}", billable)
        if fault in _FAULT_ERRORS:
            injector.settle(billable, charged=False)
            retry = [("Retry-After", str(injector.config.retry_after))] if fault == "429" else None
            return vendor_error(_FAULT_ERRORS[fault], retry), fault, 0

        request = Request(
            method,
            path,
            path_params,
            query,
            headers,
            body,
            request_id,
            self.clock(),
            self.world,
            injector.config.options,
            injector.state,
        )
        try:
            status, payload, *extra = route.handler(request)
        except Exception:
            injector.settle(billable, charged=False)
            logger.exception("simulator handler %s %s failed", vendor.name, path)
            return vendor_error("internal"), fault, 0
        injector.settle(billable, charged=billable and status == 200)
        reply_headers = dict(extra[0]) if extra else {}
        credits = 0
        if status == 200:
            if route.cost:
                credits = route.cost
                if vendor.cost_header:
                    credits = int(reply_headers.get(vendor.cost_header, credits))
                    reply_headers[vendor.cost_header] = str(credits)
            if injector.config.drift is not None:
                apply_drift(
                    route.items(payload),
                    injector.config.drift,
                    route.drop_field,
                    route.retype_field,
                )
        reply = _json_reply(status, payload, list(reply_headers.items()))
        if fault == "slow":
            time.sleep(injector.config.slow_seconds)
        elif fault == "truncated":
            reply.body = reply.body[: len(reply.body) // 2]
        return reply, fault, credits

    def _admin(self, method: str, path: str, body: bytes) -> _Reply:
        resource, _, vendor = path.partition("/")
        if vendor and vendor not in self._vendors:
            return _json_reply(404, {"error": f"no vendor {vendor!r}"})
        if (method, path) == ("GET", "health"):
            return _json_reply(
                200,
                {
                    "status": "ok",
                    "seed": self.seed,
                    "now": self.clock().isoformat(),
                    "vendors": list(self._vendors),
                },
            )
        if (method, path) == ("GET", "stats"):
            return _json_reply(200, {name: self.stats(name) for name in self._vendors})
        if (method, resource) == ("PUT", "faults") and vendor:
            try:
                fields = json.loads(body or b"{}")
                if not isinstance(fields, dict):
                    raise ValueError("the body must be a JSON object of fault fields")
                config = self.set_faults(vendor, **fields)
            except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
                return _json_reply(400, {"error": str(exc)})
            return _json_reply(200, {"vendor": vendor, "faults": config.to_dict()})
        if (method, resource) == ("DELETE", "faults"):
            self.reset_faults(vendor or None)
            return _json_reply(200, {"reset": [vendor] if vendor else list(self._vendors)})
        return _json_reply(404, {"error": f"no admin route {method} /_sim/{path}"})


def _auth_error(
    vendor: Vendor, headers: Message, query: dict[str, str], key: str
) -> ErrorKind | None:
    """Check the vendor's credential: a bearer header, or a token query parameter."""
    if vendor.auth == "none":
        return None  # the vendor authenticates in its handlers
    if vendor.auth == "query":
        presented = query.get(vendor.token_param, "")
    else:
        scheme, _, presented = headers.get("Authorization", "").strip().partition(" ")
        if scheme and scheme.lower() != "bearer":
            return "auth_invalid"  # e.g. the bare key, without "Bearer "
    presented = presented.strip()
    if not presented:
        return "auth_missing"
    return None if presented == key else "auth_invalid"


def _json_reply(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> _Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return _Reply(status, body, headers or [])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: Simulator


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the Simulator; keep-alive (HTTP/1.1) so clients can pool."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms ACK stalls
    server: _Server

    def _respond(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.simulator._dispatch(self.command, self.path, self.headers, body)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (slow faults)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = _respond

    def log_message(self, format: str, *args: Any) -> None:
        """Access log at DEBUG, with query-string tokens and every known key masked."""
        line = _TOKEN_IN_QUERY.sub(r"\1***", format % args)
        for key in self.server.simulator.api_keys.values():
            line = line.replace(key, "***")
        logger.debug("%s %s", self.address_string(), line)
