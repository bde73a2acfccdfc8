"""Trendtrack Public API, TikTok library: ads and organic videos with metrics and rank deltas.

Seed `002_3760140e65f2a384.txt` plus the Trendtrack facts in seeds/README.md. Endpoints:

    GET  /v1/tiktok/library                  browse: search, searchArea, type, status, sortBy,
                                             order, page, limit
    POST /v1/tiktok/library/query            body: search[], mode, searchArea, type, status,
                                             minViews, isPinned, sortBy, order, page, limit
    GET  /v1/tiktok/library/{id}             one item by `tiktok_<id>`, falling back to the id
    GET  /v1/shops/{shopId}/tiktok/library   the items of one shop

The vendor keeps no history: every pull is a snapshot at its observation day. Current state
(items, profiles, shops, page snapshots) is merged on its ids; `library_item_metrics` is
keyed `(item_id, observed_on)`, so a same-day re-pull replaces the day's row and the next
day appends exactly one row per item: that table is what trends are built from.

Paging walks `page` up to `pagination.totalPages` with `limit` within the documented 1..50
(the service accepts 100; the client keeps to the document). Items are keyed by the library
`id`; a result set that changes mid-walk (a page repeats an id, or `total` moves, or fewer
unique ids than `total` arrive) is walked again from page 1 and the walks are unioned, so an
item is neither lost nor doubled. Each watch entry is one unit of work: fetched whole, then
kept; the source stops at the first failure it cannot retry, keeping complete units.

An item's hashtags and media replace its earlier ones (merge key `item_id`); an item that now
has none is sent as one tombstone row (`deleted`, dlt's `hard_delete` hint) that removes the
old rows and is never stored itself. An item that carries no `content.hashtags` list (or a
`media` without its `medias` / `imageUrls` lists) says nothing about them: its rows are kept.

Schema drift against the seed is noted per response (`seed_drift`, `SEED_PARTS`): a field
absent from every object of a response, a field the seed lacks, a value of another JSON
type, each named with the table it lands in. The arrow schemas are the tables' contract
(`merge_resource`): an added field is named and not stored; a value that no longer reads as
its column's type stops the watch entry, naming it; a field absent from a whole response is
named `missing` and the ingest asset puts back the values stored under the same key.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from ..report import RunReport
from ..snapshot import TOMBSTONE, client_factory, observation, snapshot_resources
from .fetching import (
    Harvest,
    Hit,
    Listing,
    WalkResult,
    fetch_item,
    fetch_listing,
    listings,
)
from .parsing import ParsedItem, parse_item
from .schemas import KEYS, PAGE_PARTS, SCHEMAS, SEED_PARTS, TABLES, SeedPart, seed_drift, tombstone
from .settings import (
    DEFAULT_BASE_URL,
    DELTA_DAYS,
    ITEM_PATH,
    LIBRARY_PATH,
    LIMIT_MAX,
    LIMIT_MIN,
    MAX_WALKS,
    PROFILE,
    QUERY_PATH,
    SHOP_PATH,
    LibraryBrowse,
    LibraryQuery,
    ShopLibrary,
    TrendtrackWatch,
    validate_watch,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DELTA_DAYS",
    "ITEM_PATH",
    "KEYS",
    "LIBRARY_PATH",
    "LIMIT_MAX",
    "LIMIT_MIN",
    "MAX_WALKS",
    "PAGE_PARTS",
    "PROFILE",
    "QUERY_PATH",
    "SCHEMAS",
    "SEED_PARTS",
    "SHOP_PATH",
    "TABLES",
    "TOMBSTONE",
    "Harvest",
    "Hit",
    "LibraryBrowse",
    "LibraryQuery",
    "Listing",
    "ParsedItem",
    "SeedPart",
    "ShopLibrary",
    "TrendtrackWatch",
    "WalkResult",
    "fetch_item",
    "fetch_listing",
    "listings",
    "parse_item",
    "seed_drift",
    "tombstone",
    "trendtrack_source",
    "validate_watch",
]


@dlt.source(name="trendtrack", max_table_nesting=0)
def trendtrack_source(
    watch: Any = None,
    observed_on: date | None = None,
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = 5.0,
    read_timeout: float = 30.0,
    max_attempts: int = 6,
    backoff_base: float = 0.5,
    report: RunReport | None = None,
) -> list[DltResource]:
    """Today's snapshot of the watched Trendtrack searches, shops and items.

    `watch` is a `TrendtrackWatch` (or a dict of one), validated here, before any request.
    `observed_on` is the observation day (default: today, UTC) keying the metrics snapshot.
    Settings resolve from `SOURCES__TRENDTRACK__*` like every vendor. Call the report's
    `raise_if_stopped()` after loading: complete watch entries are loaded first.
    """
    run_report = report if report is not None else RunReport()
    checked = validate_watch(watch)
    day, observed_at = observation(observed_on)
    make_client = client_factory(
        PROFILE,
        base_url,
        api_key,
        run_report,
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        requests_per_second=requests_per_second,
    )
    harvest = Harvest(checked, day, observed_at, make_client, run_report)
    return snapshot_resources(harvest, run_report)
