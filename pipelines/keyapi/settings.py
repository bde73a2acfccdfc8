"""KeyAPI's HTTP facts and what one run asks for: the endpoint, its limits, the ranking lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..http import VendorProfile

DEFAULT_BASE_URL = "https://api.keyapi.ai"
VIDEO_RANKING_PATH = "/v1/tiktok/video/ranking/analytics"
MAX_PAGE_SIZE = 10
MAX_PAGE_NUM = 100_000
# Rows per arrow table handed to dlt: one table per 50-row list cost 2.6x in extract.
BATCH_ROWS = 10_000
RANK_FIELDS = {"views": 1, "sales": 2}
RANK_TYPES = {"day": 1, "week": 2, "month": 3}
TABLE_FOR_PERIOD = {
    "day": "video_rankings_daily",
    "week": "video_rankings_weekly",
    "month": "video_rankings_monthly",
}
ALL_CATEGORIES = "all"

SLICE_KEY = ("ranking_date", "region", "rank_field", "product_category_id")
PRIMARY_KEY = (*SLICE_KEY, "rank")
# What identifies a stored row across re-pulls: a re-pull may reorder a list, so the
# same video, not the same rank, is where a value the vendor stopped sending is kept.
ROW_KEY = (*SLICE_KEY, "video_id")


def _envelope_error(body: Any) -> tuple[int, str] | None:
    """KeyAPI can answer HTTP 200 with a non-zero `code`: treat that code as the status."""
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if code in (0, "0", None):
        return None
    status = int(code) if str(code).isdigit() and 100 <= int(code) <= 599 else 500
    return status, str(body.get("message") or "error")


PROFILE = VendorProfile(
    name="keyapi",
    auth="bearer",
    quota_statuses=frozenset({402}),
    credits_per_request=1.0,
    envelope_error=_envelope_error,
)


@dataclass(frozen=True)
class RankingSlice:
    """One ranking list: what a merge replaces as a unit."""

    period: str
    ranking_date: date
    region: str
    rank_field: str
    product_category_id: str = ALL_CATEGORIES

    def label(self) -> str:
        return (
            f"{self.period} {self.ranking_date} {self.region} {self.rank_field} "
            f"category={self.product_category_id}"
        )

    def where(self) -> dict[str, Any]:
        """The slice key's values: which stored rows this slice replaces."""
        return dict(
            zip(
                SLICE_KEY,
                (self.ranking_date, self.region, self.rank_field, self.product_category_id),
                strict=True,
            )
        )

    def params(self, page_num: int, page_size: int, created_by_ai: bool | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "date": self.ranking_date.isoformat(),
            "region": self.region,
            "video_rank_field": RANK_FIELDS[self.rank_field],
            "rank_type": RANK_TYPES[self.period],
            "page_num": page_num,
            "page_size": page_size,
        }
        if self.product_category_id != ALL_CATEGORIES:
            params["product_category_id"] = self.product_category_id
        if created_by_ai is not None:
            params["created_by_ai"] = "true" if created_by_ai else "false"
        return params


def ranking_slices(
    period: str,
    dates: Sequence[date],
    regions: Sequence[str],
    rank_fields: Sequence[str],
    product_category_ids: Sequence[str] = (),
) -> list[RankingSlice]:
    """Every list to pull: the unfiltered one plus one per tracked category."""
    if period not in RANK_TYPES:
        raise ValueError(f"period must be one of {sorted(RANK_TYPES)}, got {period!r}")
    categories = (ALL_CATEGORIES, *product_category_ids)
    return [
        RankingSlice(period, day, region, field, category)
        for day in dates
        for region in regions
        for field in rank_fields
        for category in categories
    ]
