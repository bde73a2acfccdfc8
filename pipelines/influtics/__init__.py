"""Influtics `GET /v1/videos/stats`: tracked videos, their latest totals and stats history.

Seed `003_17c5e2e6fb64804c.txt` plus the Influtics facts in seeds/README.md. Auth is a
bearer key; the endpoint is free; pages are `limit` (max 100) / `offset` until
`pagination.has_more` is false. Influtics keeps no history of its own list: a pull is a
snapshot of what the organization tracks now, so it is loaded under today's date only.

Three tables come from one crawl:
- `video_stats`: one row per tracked video (latest totals, `er`, `cpm`, title, timestamps),
  on any platform: `external_video_id` is the vendor's id as sent (text: a YouTube or
  Instagram id such as `oDXC4evUUc2`), and `tiktok_video_id` the same id as a BIGINT where
  the platform is TikTok and the id is a 64-bit integer (the warehouse's join key);
- `stats_points`: the `stats` map in long form, merged on (video_id, metric, observed_at),
  so overlapping pulls (each answer repeats the last observations) never duplicate a point;
- `stats_quarantine`: stats entries (and video timestamps) that cannot be typed, such as the
  seed's own `2025-06-31`, kept with the raw text and the reason instead of crashing the
  load or being dropped silently; the rest of the page still loads.

Schema drift against the seed is noted per page (`seed_drift`): a field absent from every
item, a field the seed lacks, a value of another JSON type. The arrow schemas are the
tables' contract (`RAW_CONTRACT`): a field they do not name is reported as `added` and not
stored; a value that no longer reads as its column's type stops the crawl, naming it; a
field absent from a page is reported as `missing` and the ingest asset puts back the values
stored under the same key.

Offset pagination shifts when rows are inserted before the crawl's position, and the
default order (`created_at desc`) puts newly tracked videos first: every later page would
repeat rows. The crawl asks for `created_at asc`, where a newly tracked video (the newest
`created_at`) lands after the crawl's position, and de-duplicates by `video_id` as a net.

The package: `settings` (endpoint, limits, filter values, the watch, the profile), `parsing`
(schemas, parsers, seed shapes), `fetching` (the crawl); this module holds the dlt source.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from ..errors import VendorError
from ..fields import RAW_CONTRACT
from ..http import ClientSettings, VendorClient
from .fetching import InfluticsReport, Page, crawl
from .parsing import (
    POINT_SCHEMA,
    QUARANTINE_SCHEMA,
    SEED_FIELDS,
    SEED_METRICS,
    STATS_SHAPES,
    VIDEO_SCHEMA,
    VIDEO_SHAPE,
    BadValue,
    ParsedVideo,
    external_ids,
    parse_count,
    parse_timestamp,
    parse_video,
    seed_drift,
)
from .settings import (
    CRAWL_ORDER,
    CRAWL_SORT,
    DEFAULT_BASE_URL,
    MAX_LIMIT,
    MAX_PAGES,
    ORDERS,
    PLATFORMS,
    POINT_KEY,
    POINTS_TABLE,
    PROFILE,
    QUARANTINE_KEY,
    QUARANTINE_TABLE,
    SORTS,
    STATUSES,
    VIDEO_KEY,
    VIDEO_STATS_PATH,
    VIDEOS_TABLE,
    InfluticsWatch,
)

logger = logging.getLogger(__name__)

__all__ = [
    "CRAWL_ORDER",
    "CRAWL_SORT",
    "DEFAULT_BASE_URL",
    "MAX_LIMIT",
    "MAX_PAGES",
    "ORDERS",
    "PLATFORMS",
    "POINTS_TABLE",
    "POINT_KEY",
    "POINT_SCHEMA",
    "PROFILE",
    "QUARANTINE_KEY",
    "QUARANTINE_SCHEMA",
    "QUARANTINE_TABLE",
    "SEED_FIELDS",
    "SEED_METRICS",
    "SORTS",
    "STATS_SHAPES",
    "STATUSES",
    "VIDEOS_TABLE",
    "VIDEO_KEY",
    "VIDEO_SCHEMA",
    "VIDEO_SHAPE",
    "VIDEO_STATS_PATH",
    "BadValue",
    "InfluticsReport",
    "InfluticsWatch",
    "Page",
    "ParsedVideo",
    "crawl",
    "external_ids",
    "influtics_source",
    "parse_count",
    "parse_timestamp",
    "parse_video",
    "seed_drift",
]


def _timestamp_hint(nullable: bool = True) -> dict[str, Any]:
    """A fresh hint per column: dlt writes the column name into the dict it is given."""
    return {"data_type": "timestamp", "timezone": True, "nullable": nullable}


@dlt.source(name="influtics", max_table_nesting=0)
def influtics_source(
    observed_on: date | None = None,
    platform: str | None = "TikTok",
    status: str | None = None,
    page_size: int = MAX_LIMIT,
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = 5.0,
    read_timeout: float = 30.0,
    max_attempts: int = 6,
    backoff_base: float = 0.5,
    report: InfluticsReport | None = None,
) -> list[DltResource]:
    """Today's snapshot of the tracked videos (`observed_on` defaults to today, UTC).

    `api_key`, `base_url` and the tuning values resolve from dlt config
    (`SOURCES__INFLUTICS__API_KEY`, `SOURCES__INFLUTICS__BASE_URL`, ...) when not passed.
    One crawl feeds three tables; the source stops at a failure it cannot retry after
    yielding every complete page (read `report.stopped_by`, then `raise_if_stopped()`).
    """
    run_report = report if report is not None else InfluticsReport()
    run_report.row_keys.update(
        {VIDEOS_TABLE: VIDEO_KEY, POINTS_TABLE: POINT_KEY, QUARANTINE_TABLE: QUARANTINE_KEY}
    )
    day = observed_on or datetime.now(UTC).date()
    settings = ClientSettings(
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        requests_per_second=requests_per_second,
    )

    @dlt.resource(name="video_stats_pages", selected=False)
    def pages() -> Iterator[Page]:
        try:
            client = VendorClient(PROFILE, base_url, api_key, settings, stats=run_report.requests)
        except VendorError as exc:
            run_report.stopped_by = exc
            return
        with client:
            try:
                yield from crawl(
                    client,
                    day,
                    platform=platform,
                    status=status,
                    page_size=page_size,
                    report=run_report,
                )
            except VendorError as exc:
                logger.error("stopping the crawl after %d pages: %s", run_report.pages, exc)
                run_report.stopped_by = exc

    @dlt.transformer(
        data_from=pages,
        name=VIDEOS_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=VIDEO_KEY,
        schema_contract=RAW_CONTRACT,
        columns={
            "video_id": {"data_type": "text", "nullable": False},
            "external_video_id": {"data_type": "text"},
            "tiktok_video_id": {"data_type": "bigint"},
            "created_at": _timestamp_hint(),
            "stats_last_updated": _timestamp_hint(),
        },
    )
    def video_stats(page: Page) -> Iterator[pa.Table]:
        if page.videos.num_rows:
            yield page.videos

    @dlt.transformer(
        data_from=pages,
        name=POINTS_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=POINT_KEY,
        schema_contract=RAW_CONTRACT,
        columns={
            "external_video_id": {"data_type": "text"},
            "tiktok_video_id": {"data_type": "bigint"},
            "value": {"data_type": "bigint", "nullable": False},
            "observed_at": _timestamp_hint(nullable=False),
        },
    )
    def stats_points(page: Page) -> Iterator[pa.Table]:
        if page.points.num_rows:
            yield page.points

    @dlt.transformer(
        data_from=pages,
        name=QUARANTINE_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=QUARANTINE_KEY,
        schema_contract=RAW_CONTRACT,
        columns={
            "external_video_id": {"data_type": "text"},
            "tiktok_video_id": {"data_type": "bigint"},
        },
    )
    def stats_quarantine(page: Page) -> Iterator[pa.Table]:
        """Set-aside stats entries, merged on (video_id, metric, raw_timestamp).

        Merged rather than appended so a nightly re-pull of the same bad entry keeps one
        row; the row's `_dlt_load_id` (added by the parquet normalizer) then names the
        latest load that saw it, which is what the quarantine check counts.
        """
        if page.quarantine.num_rows:
            yield page.quarantine

    return [pages, video_stats, stats_points, stats_quarantine]
