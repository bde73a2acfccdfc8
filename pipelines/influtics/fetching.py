"""Influtics fetching: the crawl over `GET /v1/videos/stats`, on the shared paging core.

`limit` / `offset` pages while `data.pagination.has_more` (`OffsetPaginator`), the offset
moving by the items received, in the stable `created_at asc` order and at most MAX_PAGES
deep; a page that claims more but holds nothing is malformed, not a loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from ..errors import InvalidRequest, MalformedResponse
from ..http import VendorClient, VendorResponse, dig
from ..paging import OffsetPaginator, Params, paginate
from ..paging import Page as Answer
from ..report import RunReport
from .parsing import (
    POINT_SCHEMA,
    QUARANTINE_SCHEMA,
    VIDEO_SCHEMA,
    ParsedVideo,
    parse_video,
    seed_drift,
)
from .settings import (
    CRAWL_ORDER,
    CRAWL_SORT,
    MAX_LIMIT,
    MAX_PAGES,
    ORDERS,
    PLATFORMS,
    POINTS_TABLE,
    PROFILE,
    QUARANTINE_TABLE,
    SORTS,
    STATUSES,
    VIDEO_STATS_PATH,
    VIDEOS_TABLE,
)

logger = logging.getLogger(__name__)
HAS_MORE = "data.pagination.has_more"


@dataclass
class InfluticsReport(RunReport):
    """A RunReport that also counts pages, skipped duplicates and quarantined entries."""

    pages: int = 0
    duplicates_skipped: int = 0
    tables: tuple[str, ...] = (VIDEOS_TABLE, POINTS_TABLE, QUARANTINE_TABLE)

    def as_metadata(self) -> dict[str, int | float | str]:
        meta = super().as_metadata()
        meta["pages"] = self.pages
        meta["duplicates_skipped"] = self.duplicates_skipped
        meta["quarantined"] = self.rows.get(QUARANTINE_TABLE, 0)
        return meta


@dataclass
class Page:
    """One page's rows for the three tables (what the crawl hands its transformers)."""

    number: int
    videos: pa.Table
    points: pa.Table
    quarantine: pa.Table


def _malformed(message: str, response: Any, page: int) -> MalformedResponse:
    return MalformedResponse(
        PROFILE.name,
        f"{message} (page {page})",
        endpoint=f"GET {VIDEO_STATS_PATH}",
        status=response.status,
        request_id=response.request_id,
        hint="the vendor changed its payload; pages before this one are kept",
    )


def _items(response: VendorResponse, number: int) -> list[Any]:
    """The page's raw items, once the envelope is what the seed says (else malformed)."""
    items = dig(response.body, "data.data")
    if not isinstance(items, list):
        raise _malformed("`data.data` should be a list", response, number)
    if not isinstance(dig(response.body, HAS_MORE), bool):
        raise _malformed("`data.pagination.has_more` should be a boolean", response, number)
    return items


def _page(answer: Answer, observed_on: date, seen: set[str], report: InfluticsReport) -> Page:
    """One answered page -> its three tables; a video already seen is skipped and counted."""
    number, response = answer.number, answer.response
    # Before parsing: a value that fails to parse is named as drift too.
    report.note_drift(seed_drift(answer.items, observed_on.isoformat(), response.request_id))
    parsed: list[ParsedVideo] = []
    for position, item in enumerate(answer.items, start=1):
        try:
            video = parse_video(item, observed_on, response.request_id)
        except ValueError as exc:
            raise _malformed(f"{exc} (item {position})", response, number) from None
        if video.video["video_id"] in seen:
            report.duplicates_skipped += 1
            continue
        seen.add(video.video["video_id"])
        parsed.append(video)
    page = Page(
        number,
        pa.Table.from_pylist([p.video for p in parsed], schema=VIDEO_SCHEMA),
        pa.Table.from_pylist([r for p in parsed for r in p.points], schema=POINT_SCHEMA),
        pa.Table.from_pylist([r for p in parsed for r in p.quarantine], schema=QUARANTINE_SCHEMA),
    )
    report.count_rows(VIDEOS_TABLE, page.videos.num_rows)
    report.count_rows(POINTS_TABLE, page.points.num_rows)
    if page.quarantine.num_rows:
        report.count_rows(QUARANTINE_TABLE, page.quarantine.num_rows)
        logger.warning("page %d: %d stats entries quarantined", number, page.quarantine.num_rows)
    return page


def crawl(
    client: VendorClient,
    observed_on: date,
    *,
    platform: str | None = "TikTok",
    status: str | None = None,
    page_size: int = MAX_LIMIT,
    report: InfluticsReport | None = None,
) -> Iterator[Page]:
    """Every tracked video once, page by page, in the stable `created_at asc` order."""
    report = report if report is not None else InfluticsReport()
    if not 1 <= page_size <= MAX_LIMIT:
        raise ValueError(f"page_size must be in [1, {MAX_LIMIT}], got {page_size}")
    params: Params = {"limit": page_size, "offset": 0, "sort": CRAWL_SORT, "order": CRAWL_ORDER}
    if platform:
        params["platform"] = platform
    if status:
        params["status"] = status

    def fetch(query: Params) -> VendorResponse:
        try:
            response = client.get(VIDEO_STATS_PATH, query)
        except InvalidRequest as exc:
            raise exc.with_hint(
                f"the request was {query}; the seed allows platform {PLATFORMS}, "
                f"status {STATUSES}, sort {SORTS}, order {ORDERS}, limit 1-{MAX_LIMIT}"
            ) from None
        report.pages += 1
        return response

    paginator = OffsetPaginator(page_size, has_more_path=HAS_MORE, advance="items")
    seen: set[str] = set()
    for answer in paginate(fetch, params, paginator, _items, max_pages=MAX_PAGES):
        yield _page(answer, observed_on, seen, report)
        if not answer.items and dig(answer.response.body, HAS_MORE):
            raise _malformed(
                "`has_more` is true but the page is empty", answer.response, answer.number
            )
    if paginator.stopped == "depth":
        raise MalformedResponse(
            PROFILE.name,
            f"still `has_more` after {MAX_PAGES} pages",
            endpoint=f"GET {VIDEO_STATS_PATH}",
        )
