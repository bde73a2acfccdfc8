"""Influtics settings: the endpoint, its limits and filter values, the watch, the profile.

The constants are the seed's (`003_17c5e2e6fb64804c.txt`): `limit` at most 100, the
platform / status / sort / order values the vendor accepts. The profile maps the seed's
error envelope (`success: false`, `code`, `details`) onto the shared error taxonomy.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from ..config import StrictModel
from ..http import VendorProfile

DEFAULT_BASE_URL = "https://api.influtics.com"
VIDEO_STATS_PATH = "/v1/videos/stats"
MAX_LIMIT = 100
PLATFORMS = ("TikTok", "YouTube", "Instagram")
STATUSES = ("active", "completed", "failed")
SORTS = ("created_at", "views", "likes", "updated_at")
ORDERS = ("asc", "desc")
# The stable crawl order: newly tracked videos have the newest created_at, so they append.
CRAWL_SORT, CRAWL_ORDER = "created_at", "asc"
MAX_PAGES = 10_000  # a vendor that never says has_more=false must not loop forever

VIDEOS_TABLE = "video_stats"
POINTS_TABLE = "stats_points"
QUARANTINE_TABLE = "stats_quarantine"
VIDEO_KEY = ("video_id",)
POINT_KEY = ("video_id", "metric", "observed_at")
QUARANTINE_KEY = ("video_id", "metric", "raw_timestamp")


class InfluticsWatch(StrictModel):
    """Which tracked videos to pull; values are the seed's allowed filter values."""

    platform: Literal["TikTok", "YouTube", "Instagram"] | None = "TikTok"
    status: Literal["active", "completed", "failed"] | None = None
    page_size: int = Field(default=MAX_LIMIT, ge=1, le=MAX_LIMIT)


MAX_DETAIL_CHARS = 300  # of the vendor's `details`, kept in the error message


def _error_detail(body: Any) -> str | None:
    """The seed's error `code` plus its `details` as compact JSON, for the error message.

    `{"code": "INVALID_PARAMETER", "details": {"valid_sort_options": [...]}}` becomes
    `INVALID_PARAMETER; details {"valid_sort_options":[...]}`: what was wrong and what the
    vendor accepts, in the run's failure. A 401 has no details: `INVALID_API_KEY`.
    """
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    details = body.get("details")
    parts = [str(code)] if code else []
    if details not in (None, {}, []):
        text = json.dumps(details, ensure_ascii=False, separators=(",", ":"), default=str)
        if len(text) > MAX_DETAIL_CHARS:
            text = text[: MAX_DETAIL_CHARS - 3] + "..."
        parts.append(f"details {text}")
    return "; ".join(parts) or None


def _envelope_error(body: Any) -> tuple[int, str] | None:
    """An HTTP 200 with `success: false` is still an error: map its code to a status."""
    if not isinstance(body, dict) or body.get("success") is not False:
        return None
    code = str(body.get("code") or "")
    status = {"INVALID_PARAMETER": 400, "INVALID_API_KEY": 401}.get(code, 500)
    return status, f"{body.get('error') or 'error'} ({_error_detail(body) or 'no code'})"


PROFILE = VendorProfile(
    name="influtics",
    auth="bearer",
    credits_per_request=0.0,  # the seed: "Credits Cost: Free"
    envelope_error=_envelope_error,
    error_detail=_error_detail,
)
