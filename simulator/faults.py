"""Per-vendor fault injection: the ways a vendor API misbehaves, on demand and repeatably.

A `FaultConfig` is plain JSON-able data (the admin API accepts it as a request body). A
`FaultInjector` turns it into one decision per request: random faults come from a
`random.Random` seeded by the config, under a lock, and the same request never fails more
than `max_consecutive_faults` times in a row, so "30 % 429s and 10 % 500s" lets a client
with a handful of retries finish every time, deterministically.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, cast

Fault = Literal["429", "500", "503", "slow", "truncated"]
# Faults a request can be answered with, in the order the random draw tests them.
FAULTS: tuple[Fault, ...] = ("429", "500", "503", "slow", "truncated")
# A script may also say "ok": answer that request normally.
SCRIPT_STEPS = (*FAULTS, "ok")
DRIFTS = ("added_field", "missing_field", "type_change")
# The field "added_field" drift puts into every item, and what "type_change" writes.
DRIFT_FIELD = "new_vendor_field"
DRIFT_NOT_A_NUMBER = "n/a"

# What `FaultInjector.draw` can decide besides the FAULTS: persistent account states.
Decision = Fault | Literal["auth_fail", "quota"]


@dataclass(frozen=True)
class FaultConfig:
    """How one vendor misbehaves. Rates are probabilities per request; they sum to <= 1."""

    rate_429: float = 0.0
    retry_after: int = 1  # seconds, sent in the Retry-After header of a 429
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 6.0  # delay of a slow answer: more than a client's read timeout
    rate_truncated: float = 0.0
    auth_fail: bool = False  # every request gets the vendor's 401, whatever its key
    quota_after: int | None = None  # billable successes before the vendor's quota error
    drift: str | None = None  # one of DRIFTS, applied to every item of a success body
    script: tuple[str, ...] = ()  # SCRIPT_STEPS for the next requests, before random faults
    seed: int = 0
    max_consecutive_faults: int = 3
    # Vendor-specific knobs (a JSON object) that the vendor's handlers read from the request.
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "script", tuple(self.script))
        if not isinstance(self.options, dict) or not all(isinstance(k, str) for k in self.options):
            raise ValueError("options must be a JSON object of vendor-specific knobs")
        object.__setattr__(self, "options", dict(self.options))
        rates = [self.rate_429, self.rate_500, self.rate_503, self.rate_slow, self.rate_truncated]
        for rate in rates:
            if not _is_number(rate) or not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rates must be numbers in [0, 1], got {rate!r}")
        if sum(rates) > 1.0 + 1e-9:
            raise ValueError(f"fault rates sum to {sum(rates)}, more than 1")
        for name in ("retry_after", "seed", "max_consecutive_faults"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if not _is_number(self.slow_seconds) or self.slow_seconds < 0:
            raise ValueError("slow_seconds must be a non-negative number")
        if not isinstance(self.auth_fail, bool):
            raise ValueError("auth_fail must be true or false")
        if self.quota_after is not None and (not _is_int(self.quota_after) or self.quota_after < 0):
            raise ValueError("quota_after must be null or a non-negative integer")
        if self.drift is not None and self.drift not in DRIFTS:
            raise ValueError(f"drift must be null or one of {DRIFTS}, got {self.drift!r}")
        if unknown := [step for step in self.script if step not in SCRIPT_STEPS]:
            raise ValueError(f"unknown script steps {unknown}; allowed {SCRIPT_STEPS}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Build from JSON; unknown keys are an error, not silently ignored."""
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(data) - known):
            raise ValueError(f"unknown fault fields {unknown}; known {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "script": list(self.script)}


class FaultInjector:
    """Decides, request by request, which fault (if any) one vendor answers with."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults:{config.seed}")
        self._script = deque(config.script)
        self._consecutive: dict[str, int] = {}
        self._billed = 0
        self._pending = 0  # billable requests admitted under `quota_after`, not yet answered
        # Scratch space for a vendor's stateful behaviours (e.g. rows inserted mid-crawl);
        # it starts empty with every new FaultConfig.
        self.state: dict[str, Any] = {}

    def draw(self, request_key: str, billable: bool = False) -> Decision | None:
        """The fault for this request; `request_key` identifies "the same request" on retry.

        A `billable` request admitted under `quota_after` holds its place until `settle`, as
        a real vendor's quota counter does: requests in flight together never pass it.
        """
        config = self.config
        with self._lock:
            if config.auth_fail:
                return "auth_fail"
            if config.quota_after is not None:
                if self._billed + self._pending >= config.quota_after:
                    return "quota"
                self._pending += billable
            roll = self._rng.random()  # drawn every time so the sequence does not shift
            fault: Decision | None
            if self._script:
                step = self._script.popleft()
                fault = None if step == "ok" else cast(Fault, step)
            elif self._consecutive.get(request_key, 0) >= config.max_consecutive_faults:
                fault = None
            else:
                fault = _pick(roll, config)
            if fault is None:
                self._consecutive.pop(request_key, None)
            else:
                self._consecutive[request_key] = self._consecutive.get(request_key, 0) + 1
            return fault

    def settle(self, billable: bool, charged: bool) -> None:
        """End a request `draw` admitted: a `charged` one counts toward `quota_after`."""
        with self._lock:
            if billable and self.config.quota_after is not None:
                self._pending -= 1
            self._billed += charged


def apply_drift(
    items: Iterable[dict[str, Any]], drift: str, drop_field: str, retype_field: str
) -> None:
    """Change every item in place the way a vendor's unannounced schema change would."""
    for item in items:
        if drift == "added_field":
            item[DRIFT_FIELD] = "sim-drift"
        elif drift == "missing_field":
            item.pop(drop_field, None)
        else:
            item[retype_field] = DRIFT_NOT_A_NUMBER


def _pick(roll: float, config: FaultConfig) -> Fault | None:
    rates = (
        config.rate_429,
        config.rate_500,
        config.rate_503,
        config.rate_slow,
        config.rate_truncated,
    )
    threshold = 0.0
    for fault, rate in zip(FAULTS, rates, strict=True):
        threshold += rate
        if roll < threshold:
            return fault
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
