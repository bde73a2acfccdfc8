"""EnsembleData's requests: the units budget checked before each one, where the units went,
the cursor walks (on `pipelines.paging`), and one watch entry's rows before they are kept."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from ..errors import InvalidRequest, MalformedResponse, QuotaExhausted, VendorError
from ..http import VendorClient, VendorResponse, dig
from ..paging import CursorPaginator, paginate
from ..redaction import redact
from ..report import RunReport
from .parsing import ParsedPost
from .schemas import TABLES
from .settings import DEFAULT_PRICE, PRICES, PROFILE

logger = logging.getLogger(__name__)
WalkEnd = Literal["end", "depth", "repeated_cursor"]

MAX_FAILURES_LISTED = 20  # in run metadata; the count is always exact


@dataclass(frozen=True)
class FailedRequest:
    """A request of one watch entry that the vendor refused while the rest of the entry landed."""

    entry: str
    endpoint: str
    status: int | None
    message: str

    @classmethod
    def of(cls, entry: str, exc: VendorError) -> FailedRequest:
        """From the client's error: path only (never the query, which holds the token)."""
        return cls(entry, exc.endpoint or "?", exc.status, redact(exc.vendor_message))

    def __str__(self) -> str:
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"{self.entry}: {self.endpoint}{status}: {self.message}"


@dataclass
class EnsembleDataReport(RunReport):
    """A RunReport that also knows the units budget and where the units went."""

    units_budget: int | None = None
    units_used_before: float = 0.0
    units_by_endpoint: Counter[str] = field(default_factory=Counter)
    requests_by_endpoint: Counter[str] = field(default_factory=Counter)
    walk_ends: Counter[str] = field(default_factory=Counter)
    entries_resumed: list[str] = field(default_factory=list)
    failed_requests: list[FailedRequest] = field(default_factory=list)
    tables: tuple[str, ...] = TABLES

    @property
    def units_spent(self) -> float:
        return self.requests.credits

    @property
    def units_over_budget(self) -> float:
        """Units used today beyond the budget: 0 unless the vendor charged more than priced."""
        if self.units_budget is None:
            return 0.0
        return max(0.0, self.units_used_before + self.units_spent - self.units_budget)

    def as_metadata(self) -> dict[str, int | float | str]:
        meta = super().as_metadata()
        meta["units_spent"] = self.units_spent
        meta["units_used_before_run"] = self.units_used_before
        if self.units_budget is not None:
            meta["units_budget"] = self.units_budget
            meta["units_left"] = self.units_budget - self.units_used_before - self.units_spent
            if self.units_over_budget:
                meta["units_over_budget"] = self.units_over_budget
        meta["units_by_endpoint"] = ", ".join(
            f"{k}: {v:g}" for k, v in sorted(self.units_by_endpoint.items())
        )
        meta["requests_by_endpoint"] = ", ".join(
            f"{k}: {v}" for k, v in sorted(self.requests_by_endpoint.items())
        )
        meta["walk_ends"] = ", ".join(f"{k}: {v}" for k, v in sorted(self.walk_ends.items()))
        meta["entries_resumed"] = len(self.entries_resumed)
        if self.entries_resumed:
            meta["entries_resumed_examples"] = ", ".join(self.entries_resumed[:10])
        meta["failed_requests"] = len(self.failed_requests)
        if self.failed_requests:
            listed = [str(f) for f in self.failed_requests[:MAX_FAILURES_LISTED]]
            if len(self.failed_requests) > MAX_FAILURES_LISTED:
                listed.append(f"(+{len(self.failed_requests) - MAX_FAILURES_LISTED} more)")
            meta["failed_request_list"] = redact("; ".join(listed))
        return meta


_BUDGET_HINT = (
    "what landed is kept and a re-run today skips it; raise ensembledata.daily_units_budget "
    "in the watchlist or re-run tomorrow to continue"
)


class Fetcher:
    """The client behind a units budget: every request is checked before it is sent."""

    def __init__(self, client: VendorClient, report: EnsembleDataReport) -> None:
        self.client = client
        self.report = report
        self._highest: dict[str, float] = {}  # most units charged per step, per path

    def expected_units(self, path: str, params: Mapping[str, Any]) -> float:
        """The most this request may cost: price or the highest charge seen, times steps."""
        price = PRICES.get(path, DEFAULT_PRICE)
        return max(price.units, self._highest.get(path, 0.0)) * price.steps(params)

    def get(self, path: str, params: Mapping[str, Any]) -> VendorResponse:
        self.check(path, params)
        return self.send(path, params)

    def check(self, path: str, params: Mapping[str, Any]) -> None:
        """Refuse, before it is sent, a request that could take the day past the budget."""
        report = self.report
        budget = report.units_budget
        expected = self.expected_units(path, params)
        if budget is not None:
            total = report.units_used_before + report.units_spent
            if total + expected > budget:
                cost = (
                    f"may cost up to {expected:g} (its worst case: the charge follows what it "
                    "finds)"
                    if PRICES.get(path, DEFAULT_PRICE).varies
                    else f"would cost about {expected:g}"
                )
                raise QuotaExhausted(
                    PROFILE.name,
                    f"daily units budget of {budget} reached: "
                    f"{report.units_used_before:g} units were used earlier today and "
                    f"{report.units_spent:g} by this run ({report.requests.requests} requests); "
                    f"the next request {cost}",
                    endpoint=f"GET {path}",
                    hint=_BUDGET_HINT,
                )

    def send(self, path: str, params: Mapping[str, Any]) -> VendorResponse:
        """The request, its units counted; a charge past the budget stops the run at once."""
        report = self.report
        budget = report.units_budget
        expected = self.expected_units(path, params)
        before, billed_before = report.units_spent, report.requests.billed
        try:
            response = self.client.get(path, params)
        finally:
            # A billed answer that was retried (or a refusal that was billed) still cost units.
            spent = report.units_spent - before
            billed = report.requests.billed - billed_before
            report.units_by_endpoint[path] += spent
            report.requests_by_endpoint[path] += 1
            if billed:
                steps = max(PRICES.get(path, DEFAULT_PRICE).steps(params), 1)
                per_step = spent / billed / steps
                self._highest[path] = max(self._highest.get(path, 0.0), per_step)
        if budget is not None and report.units_over_budget > 0:
            raise QuotaExhausted(
                PROFILE.name,
                f"daily units budget of {budget} exceeded by {report.units_over_budget:g} units: "
                f"this request was charged {spent:g} units where at most {expected:g} were "
                f"expected ({report.units_used_before:g} used earlier today, "
                f"{report.units_spent:g} by this run); stopped at once",
                endpoint=f"GET {path}",
                status=response.status,
                request_id=response.request_id,
                hint="the vendor's price for this endpoint is higher than PRICES in "
                "pipelines/ensembledata/settings.py says; " + _BUDGET_HINT,
            )
        return response


def malformed(what: str, path: str, page: int, response: VendorResponse) -> MalformedResponse:
    return MalformedResponse(
        PROFILE.name,
        f"{what} (page {page})",
        endpoint=f"GET {path}",
        status=response.status,
        request_id=response.request_id,
        hint="the vendor changed its payload; earlier watch entries are kept",
    )


def data_of(response: VendorResponse, path: str, page: int = 1) -> Any:
    """The `data` of an answer; anything else breaks the contract."""
    body = response.body
    if not isinstance(body, dict) or "data" not in body:
        raise malformed("answer has no `data`", path, page, response)
    return body["data"]


@dataclass
class Walk:
    """What a paged walk fetched and why it stopped (`end`, `depth` or `repeated_cursor`)."""

    pages: list[tuple[list[Any], VendorResponse]]
    stopped: WalkEnd


def walk(
    fetcher: Fetcher,
    path: str,
    params: Mapping[str, Any],
    *,
    list_key: str,
    max_pages: int,
    cursor_param: str = "cursor",
    page_token: bool = False,
) -> Walk:
    """Follow `nextCursor` (and `nextPageToken` when `page_token`) to the end, depth or a repeat.

    The units budget is checked before each page is asked for, so a walk never buys a page
    the budget cannot pay; a first request without a cursor asks for cursor 0.
    """
    if max_pages < 1:
        raise ValueError(f"max_pages must be at least 1, got {max_pages}")

    def items(response: VendorResponse, page: int) -> list[Any]:
        data = data_of(response, path, page)
        if not isinstance(data, dict):
            raise malformed("`data` should be an object", path, page, response)
        found = data.get(list_key)
        if found is None:
            found = []
        if not isinstance(found, list):
            raise malformed(f"`data.{list_key}` should be a list", path, page, response)
        return found

    token = "data.nextPageToken" if page_token else None
    paginator = CursorPaginator(
        cursor_param,
        "data.nextCursor",
        carry={token: "page_token"} if token else None,
        start=0,
        end_without=token,
    )
    answered = paginate(
        lambda query: fetcher.send(path, query),
        params,
        paginator,
        items,
        max_pages=max_pages,
        before_page=lambda query, _: fetcher.check(path, query),
    )
    pages = [(page.items, page.response) for page in answered]
    if paginator.stopped == "repeated_cursor":
        cursor = dig(pages[-1][1].body, "data.nextCursor")
        logger.warning("%s answered cursor %s again: stopping this walk", path, cursor)
    return Walk(pages, cast(WalkEnd, paginator.stopped))


# -- one watch entry ---------------------------------------------------------------------


@dataclass
class _Unit:
    """The rows of one watch entry, committed to the harvest once fetched, and the requests
    of it the vendor refused (their rows are the only ones missing)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # table -> parent (its merge key values) -> the parent's whole child list, maybe empty
    children: dict[str, dict[tuple[Any, ...], list[dict[str, Any]]]] = field(default_factory=dict)
    failed: list[VendorError] = field(default_factory=list)

    def put(self, table: str, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)

    def replace(self, table: str, parent: tuple[Any, ...], rows: list[dict[str, Any]]) -> None:
        self.children.setdefault(table, {})[parent] = rows

    def post(self, parsed: ParsedPost) -> None:
        self.put("videos", parsed.video)
        if parsed.stats is not None:
            self.put("video_stats", parsed.stats)
        self.replace("video_hashtags", (parsed.video["aweme_id"],), parsed.hashtags)
        if parsed.author is not None:
            self.put("users", parsed.author)
        if parsed.music is not None:
            self.put("music", parsed.music)

    def extend(self, other: _Unit) -> None:
        for table, rows in other.tables.items():
            self.tables.setdefault(table, []).extend(rows)
        for table, by_parent in other.children.items():
            self.children.setdefault(table, {}).update(by_parent)
        self.failed.extend(other.failed)

    def attempt(self, fetch: Callable[[], _Unit]) -> None:
        """One sub-request (or walk) of the entry: a refusal of it keeps the rest."""
        try:
            part = fetch()
        except InvalidRequest as exc:
            self.failed.append(exc)
            return
        self.extend(part)

    @property
    def empty(self) -> bool:
        return not self.tables and not any(
            rows for by_parent in self.children.values() for rows in by_parent.values()
        )


@dataclass(frozen=True)
class _Entry:
    """One watch entry: its label, a digest of what it asks for, and how to fetch it whole."""

    label: str
    digest: str
    fetch: Callable[[], _Unit]


def _digest(*spec: Any) -> str:
    """Which request(s) an entry makes: a changed entry is not taken as done today."""
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _no_state() -> dict[str, Any]:
    return {}
