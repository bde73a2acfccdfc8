"""Trendtrack's walks: a listing's pages, walked again while its result set moves; one item by
id; and the harvest that puts every watch entry's rows in its tables."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Literal

import pyarrow as pa

from ..errors import ConfigError, InvalidRequest, MalformedResponse, VendorError
from ..fields import to_int
from ..http import VendorClient, VendorResponse
from ..paging import PageNumberPaginator, paginate
from ..report import RunReport
from ..snapshot import Keys, Row, SnapshotHarvest
from .parsing import ParsedItem, parse_item
from .schemas import KEYS, PAGE_PARTS, SCHEMAS, seed_drift, tombstone
from .settings import (
    ITEM_ID,
    ITEM_PATH,
    LIBRARY_PATH,
    LIMIT_MAX,
    LIMIT_MIN,
    MAX_WALKS,
    PROFILE,
    QUERY_PATH,
    SHOP_PATH,
    BaseListing,
    TrendtrackWatch,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Listing:
    """One watch entry as HTTP: a path, fixed parameters, and how pages are asked for."""

    key: str
    method: Literal["GET", "POST"]
    path: str
    params: Mapping[str, Any]
    max_pages: int

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    def request(self, client: VendorClient, page: int, limit: int) -> VendorResponse:
        if not LIMIT_MIN <= limit <= LIMIT_MAX:
            raise ConfigError(f"trendtrack limit must be in {LIMIT_MIN}..{LIMIT_MAX}, got {limit}")
        if page < 1:
            raise ConfigError(f"trendtrack page must be >= 1, got {page}")
        paging = {"page": page, "limit": limit}
        if self.method == "POST":
            return client.post(self.path, json_body={**self.params, **paging})
        return client.get(self.path, params={**self.params, **paging})


def _listing_params(entry: BaseListing) -> dict[str, Any]:
    return {
        "searchArea": entry.search_area,
        "type": entry.type,
        "status": entry.status,
        "sortBy": entry.sort_by,
        "order": entry.order,
    }


def listings(watch: TrendtrackWatch) -> list[Listing]:
    """Every paged listing of a watch: queries, then browses, then shops."""
    out = []
    for query in watch.queries:
        body = {**_listing_params(query), "search": list(query.search), "mode": query.mode}
        if query.min_views is not None:
            body["minViews"] = query.min_views
        if query.pinned is not None:
            body["isPinned"] = query.pinned
        out.append(Listing(f"query:{query.name}", "POST", QUERY_PATH, body, query.max_pages))
    for browse in watch.browse:
        params = _listing_params(browse)
        if browse.search:
            params["search"] = browse.search
        out.append(Listing(f"browse:{browse.name}", "GET", LIBRARY_PATH, params, browse.max_pages))
    for shop in watch.shops:
        params = _listing_params(shop)
        if shop.search:
            params["search"] = shop.search
        path = SHOP_PATH.format(shop_id=shop.shop_id)
        out.append(Listing(f"shop:{shop.name}", "GET", path, params, shop.max_pages))
    return out


@dataclass
class Hit:
    """An item as one listing returned it: the parsed rows and where it was seen."""

    parsed: ParsedItem
    position: int
    request_id: str | None


@dataclass
class WalkResult:
    hits: dict[str, Hit]
    walks: int
    stable: bool
    truncated: bool


def _bad_page(listing: Listing, page: int, response: VendorResponse, what: str) -> VendorError:
    return MalformedResponse(
        PROFILE.name,
        f"{what} ({listing.key}, page {page})",
        endpoint=listing.endpoint,
        status=response.status,
        request_id=response.request_id,
        hint="the vendor changed its payload; earlier watch entries are kept",
    )


def _walk(
    client: VendorClient,
    listing: Listing,
    limit: int,
    observed: tuple[date, datetime],
    report: RunReport,
) -> tuple[dict[str, Hit], bool, bool]:
    """One walk over pages 1..totalPages: (hits by id, result set looked stable, truncated).

    Each page's drift is noted before its items are parsed, so a value that fails to parse
    is named as drift too.
    """
    hits: dict[str, Hit] = {}
    totals: set[int] = set()
    repeats = 0

    def items(response: VendorResponse, page: int) -> list[Any]:
        body = response.body
        found = body.get("data") if isinstance(body, dict) else None
        pagination = body.get("pagination") if isinstance(body, dict) else None
        if not isinstance(found, list):
            raise _bad_page(listing, page, response, "`data` should be a list")
        day, rid = observed[0].isoformat(), response.request_id
        report.note_drift(seed_drift([body], day, rid, PAGE_PARTS) | seed_drift(found, day, rid))
        if not isinstance(pagination, dict):
            raise _bad_page(listing, page, response, "`pagination` should be an object")
        try:
            total = to_int(pagination.get("total"), "pagination.total")
            total_pages = to_int(pagination.get("totalPages"), "pagination.totalPages")
        except ValueError as exc:
            raise _bad_page(listing, page, response, str(exc)) from None
        if total is None or total_pages is None:
            raise _bad_page(listing, page, response, "`pagination.total/totalPages` are missing")
        totals.add(total)
        return found

    paginator = PageNumberPaginator(
        total_pages_path="pagination.totalPages",
        to_total=lambda value: to_int(value, "pagination.totalPages"),
    )
    pages = paginate(
        lambda params: listing.request(client, params["page"], limit),
        {},
        paginator,
        items,
        max_pages=listing.max_pages,
    )
    for page in pages:
        for offset, raw in enumerate(page.items):
            try:
                parsed = parse_item(
                    raw,
                    observed_on=observed[0],
                    observed_at=observed[1],
                    request_id=page.response.request_id,
                )
            except ValueError as exc:
                what = f"{exc} in item {offset + 1}"
                raise _bad_page(listing, page.number, page.response, what) from None
            if parsed.item["id"] in hits:
                repeats += 1
                continue
            position = (page.number - 1) * limit + offset + 1
            hits[parsed.item["id"]] = Hit(parsed, position, page.response.request_id)
    steady = len(totals) == 1 and repeats == 0
    if paginator.stopped == "depth":
        return hits, steady, True
    return hits, steady and len(hits) == next(iter(totals)), False


def fetch_listing(
    client: VendorClient,
    listing: Listing,
    *,
    limit: int,
    observed: tuple[date, datetime],
    max_walks: int = MAX_WALKS,
    report: RunReport | None = None,
) -> WalkResult:
    """Every item of one listing, by library id, walked again while the result set moves."""
    report = report if report is not None else RunReport()
    merged: dict[str, Hit] = {}
    stable = truncated = False
    walks = 0
    while walks < max_walks and not stable:
        walks += 1
        hits, stable, truncated = _walk(client, listing, limit, observed, report)
        merged.update(hits)
        if not stable:
            logger.info("%s: result set moved during walk %d; walking again", listing.key, walks)
    if not stable:
        logger.warning("%s: result set still moving after %d walks", listing.key, walks)
    return WalkResult(merged, walks, stable, truncated)


def fetch_item(
    client: VendorClient,
    item_id: str,
    observed: tuple[date, datetime],
    report: RunReport | None = None,
) -> ParsedItem | None:
    """One item by composite id, falling back to the TikTok id; None when neither exists."""
    match = ITEM_ID.fullmatch(item_id)
    if match is None:
        raise ConfigError(f"trendtrack item id {item_id!r} is not tiktok_<id> or a TikTok id")
    candidates = dict.fromkeys([item_id, f"tiktok_{match.group(1)}", match.group(1)])
    for candidate in candidates:
        path = ITEM_PATH.format(id=candidate)
        try:
            response = client.get(path)
        except InvalidRequest as exc:
            if exc.status == 404:
                continue
            raise
        data = response.body.get("data") if isinstance(response.body, dict) else None
        if report is not None:
            report.note_drift(seed_drift([data], observed[0].isoformat(), response.request_id))
        try:
            return parse_item(
                data,
                observed_on=observed[0],
                observed_at=observed[1],
                request_id=response.request_id,
            )
        except ValueError as exc:
            raise MalformedResponse(
                PROFILE.name,
                f"{exc} (item {candidate})",
                endpoint=f"GET {ITEM_PATH}",
                status=response.status,
                request_id=response.request_id,
            ) from None
    return None


@dataclass
class Harvest(SnapshotHarvest):
    """Every watch entry's rows, fetched once, lazily; an entry lands whole or not at all.

    A listing is walked to its end before its items are put, so a stop mid-walk keeps only
    the complete entries.
    """

    vendor: ClassVar[str] = PROFILE.name
    schemas: ClassVar[Mapping[str, pa.Schema]] = SCHEMAS
    keys: ClassVar[Keys] = KEYS

    watch: TrendtrackWatch
    observed_on: date
    observed_at: datetime
    make_client: Callable[[], VendorClient]
    report: RunReport

    def tombstone(self, table: str, parent: tuple[Any, ...]) -> Row:
        return tombstone(table, parent[0], self.observed_on)

    def _add(self, parsed: ParsedItem) -> None:
        item_id = parsed.item["id"]
        self.put("library_items", parsed.item)
        self.put("library_item_metrics", parsed.metrics)
        for table, children in (
            ("library_item_hashtags", parsed.hashtags),
            ("library_item_media", parsed.media),
        ):
            if children is not None:
                self.replace(table, (item_id,), children)
        for table, row in (
            ("profiles", parsed.profile),
            ("shops", parsed.shop),
            ("page_snapshots", parsed.page_snapshot),
        ):
            if row is not None:
                self.put(table, row)

    def fetch(self, client: VendorClient) -> None:
        observed = (self.observed_on, self.observed_at)
        for listing in listings(self.watch):
            result = fetch_listing(
                client, listing, limit=self.watch.limit, observed=observed, report=self.report
            )
            if not result.hits:
                self.report.empty_slices.append(listing.key)
            for item_id, hit in result.hits.items():
                self._add(hit.parsed)
                self.put(
                    "library_search_hits",
                    {
                        "watch_key": listing.key,
                        "observed_on": self.observed_on,
                        "item_id": item_id,
                        "position": hit.position,
                        "endpoint": listing.endpoint,
                        "request_id": hit.request_id,
                    },
                )
        for item_id in self.watch.items:
            parsed = fetch_item(client, item_id, observed, self.report)
            if parsed is None:
                self.report.empty_slices.append(f"item:{item_id} (not found)")
            else:
                self._add(parsed)
