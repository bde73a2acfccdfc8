"""The simulator with each vendor's request-rate limit enforced, recording what it served.

The vendor documents name a QPS limit (KeyAPI's 429 "qps limit exceeded", EnsembleData's and
Trendtrack's 429s) without a number, and TikTok Research states 1,000 requests a day. The
limits here are the ones the pipelines are configured for (`requests_per_second` defaults):
a request above its vendor's rate is refused with that vendor's own 429 and `Retry-After`,
as the real services do, so a client that does not pace itself pays for it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from simulator.server import Simulator, _json_reply, _Reply

# Requests per second each vendor allows, and TikTok Research's daily quota.
VENDOR_RPS: dict[str, float] = {
    "keyapi": 5.0,
    "influtics": 5.0,
    "trendtrack": 5.0,
    "ensembledata": 5.0,
    "tiktok_research": 1.0,
}
RESEARCH_DAILY_QUOTA = 1000
JITTER = 0.05


@dataclass
class Served:
    """One request the simulator answered (not refused by the limit), to replay it."""

    method: str
    target: str  # path under the simulator's root, query string included
    headers: dict[str, str]
    body: bytes
    status: int
    arrived: float  # time.monotonic() when it arrived


@dataclass
class _Bucket:
    """A token bucket: `rate` requests a second, bursts of at most max(1, rate).

    A request may come up to `JITTER` of one interval early: a client pacing at exactly
    the limit sees its requests arrive a millisecond apart from where it sent them.
    """

    rate: float
    tokens: float = 1.0
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        capacity = max(1.0, self.rate)
        self.tokens = min(capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0 - JITTER:
            self.tokens -= 1.0
            return True
        return False


class LimitedSimulator(Simulator):
    """`Simulator` refusing requests above `rps[vendor]` and recording every served one."""

    def __init__(self, rps: dict[str, float] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rps = dict(VENDOR_RPS if rps is None else rps)
        self._buckets = {name: _Bucket(rate) for name, rate in self.rps.items() if rate}
        self._bucket_lock = threading.Lock()
        self.served: dict[str, list[Served]] = {name: [] for name in self.vendors}
        self.refused: dict[str, int] = dict.fromkeys(self.vendors, 0)
        self.set_faults("tiktok_research", quota_after=RESEARCH_DAILY_QUOTA)

    def set_rps(self, vendor: str, rate: float) -> None:
        with self._bucket_lock:
            self.rps[vendor] = rate
            self._buckets[vendor] = _Bucket(rate)

    def clear_log(self) -> None:
        with self._bucket_lock:
            self.served = {name: [] for name in self.vendors}
            self.refused = dict.fromkeys(self.vendors, 0)

    def _dispatch(self, method: str, target: str, headers: Message, body: bytes) -> _Reply:
        vendor = target.lstrip("/").partition("/")[0].partition("?")[0]
        arrived = time.monotonic()
        with self._bucket_lock:
            bucket = self._buckets.get(vendor)
            allowed = bucket is None or bucket.take()
            if not allowed:
                self.refused[vendor] += 1
        if not allowed:
            status, payload = self._vendors[vendor].error("rate_limit", "bench-rate-limit")
            return _json_reply(status, payload, [("Retry-After", "1")])
        reply = super()._dispatch(method, target, headers, body)
        if vendor in self.served:
            kept = {
                k: v for k, v in headers.items() if k.lower() in ("authorization", "content-type")
            }
            with self._bucket_lock:
                self.served[vendor].append(
                    Served(method, target, kept, body, reply.status, arrived)
                )
        return reply
