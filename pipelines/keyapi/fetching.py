"""One ranking list fetched whole, page by page on the paging core."""

from __future__ import annotations

from typing import Any

from ..errors import MalformedResponse
from ..http import VendorClient, VendorResponse
from ..paging import PageNumberPaginator, paginate
from ..report import RunReport
from .parsing import parse_ranking_item, seed_shape
from .settings import MAX_PAGE_NUM, MAX_PAGE_SIZE, PROFILE, VIDEO_RANKING_PATH, RankingSlice


def fetch_slice(
    client: VendorClient,
    ranking: RankingSlice,
    *,
    pages: int,
    created_by_ai: bool | None = None,
    report: RunReport | None = None,
    in_flight: int = 1,
) -> list[dict[str, Any]]:
    """All rows of one ranking list, top `pages` pages; stops early on a short page.

    `in_flight` pages are requested at once (a short page's later ones are then wasted).

    The slice's drift goes to `report` even when a value fails to parse, so a retyped
    field is named in the run's metadata as well as in the failure.
    """
    rows: list[dict[str, Any]] = []
    tally = seed_shape(ranking.period).tally()

    def items(response: VendorResponse, page_num: int) -> list[Any]:
        body = response.body
        found = body.get("data") if isinstance(body, dict) else None
        if found is None and isinstance(body, dict) and "data" in body:
            return []
        if not isinstance(found, list):
            raise MalformedResponse(
                PROFILE.name,
                f"`data` should be a list for {ranking.label()} page {page_num}",
                endpoint=f"GET {VIDEO_RANKING_PATH}",
                status=response.status,
                request_id=response.request_id,
            )
        return found

    pages_of_slice = paginate(
        lambda params: client.get(VIDEO_RANKING_PATH, params),
        ranking.params(1, MAX_PAGE_SIZE, created_by_ai),
        PageNumberPaginator("page_num", page_size=MAX_PAGE_SIZE),
        items,
        max_pages=min(pages, MAX_PAGE_NUM),
        ahead=in_flight,
    )
    try:
        for page in pages_of_slice:
            for offset, item in enumerate(page.items):
                tally.add(item)
                rank = (page.number - 1) * MAX_PAGE_SIZE + offset + 1
                try:
                    rows.append(parse_ranking_item(item, ranking, rank, page.response.request_id))
                except ValueError as exc:
                    raise MalformedResponse(
                        PROFILE.name,
                        f"{exc} (item {offset + 1} of page {page.number}, {ranking.label()})",
                        endpoint=f"GET {VIDEO_RANKING_PATH}",
                        status=page.response.status,
                        request_id=page.response.request_id,
                        hint="the vendor changed its payload; re-run once fixed, "
                        "earlier slices are kept",
                    ) from None
    finally:
        if report is not None:
            report.note_drift(tally.drift(ranking.ranking_date.isoformat(), ranking.where()))
    return rows
