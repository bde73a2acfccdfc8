"""One raw Trendtrack library item into the typed rows of every table it feeds (pure)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..fields import to_bool, to_float, to_int, to_iso_timestamp, to_list, to_obj, to_text
from .settings import DELTAS, ITEM_ID, METRIC_COUNTS, METRIC_FLOATS

# Trendtrack sends some ids as numbers and others as strings: take both as text.
_text = functools.partial(to_text, int_ok=True)


@dataclass
class ParsedItem:
    """One library item flattened into the rows of every table it feeds."""

    item: dict[str, Any]
    metrics: dict[str, Any]
    # None: the item did not carry the list, so its stored rows stay as they are.
    hashtags: list[dict[str, Any]] | None
    media: list[dict[str, Any]] | None
    profile: dict[str, Any] | None
    shop: dict[str, Any] | None
    page_snapshot: dict[str, Any] | None


def parse_item(
    raw: Any, *, observed_on: date, observed_at: datetime, request_id: str | None
) -> ParsedItem:
    """One raw library item -> typed rows. Raises ValueError naming the bad field."""
    if not isinstance(raw, dict):
        raise ValueError(f"item should be an object, got {type(raw).__name__}")
    item_id = _text(raw.get("id"), "id")
    if not item_id:
        raise ValueError("required field 'id' is missing")
    tiktok_id = to_int(raw.get("tiktokId"), "tiktokId")
    if tiktok_id is None and (match := ITEM_ID.fullmatch(item_id)):
        tiktok_id = int(match.group(1))
    if tiktok_id is None:
        raise ValueError("required field 'tiktokId' is missing and 'id' does not hold it")
    seen = {"observed_on": observed_on, "observed_at": observed_at}

    metrics_raw = to_obj(raw, "metrics") or {}
    metrics: dict[str, Any] = {
        name: to_int(metrics_raw.get(name), f"metrics.{name}") for name in METRIC_COUNTS
    }
    for key, column in METRIC_FLOATS.items():
        metrics[column] = to_float(metrics_raw.get(key), f"metrics.{key}")
    metrics["rank"] = to_int(metrics_raw.get("rank"), "metrics.rank")
    for key, column in DELTAS.items():
        metrics[column] = to_int(metrics_raw.get(key), f"metrics.{key}")

    content = to_obj(raw, "content") or {}
    music = to_obj(content, "music") or {}
    media = to_obj(raw, "media") or {}
    pin = to_obj(raw, "pin") or {}
    links = to_obj(raw, "links") or {}
    source = to_obj(raw, "source") or {}
    profile_raw, shop_raw = to_obj(raw, "profile"), to_obj(raw, "shop")
    snapshot_raw = to_obj(raw, "pageSnapshot")
    profile_id = _text(profile_raw.get("id"), "profile.id") if profile_raw else None
    shop_id = _text(shop_raw.get("id"), "shop.id") if shop_raw else None
    days_running = to_int(raw.get("daysRunning"), "daysRunning")
    status = _text(raw.get("status"), "status")
    indexed_at = to_iso_timestamp(raw.get("indexedAt"), "indexedAt")

    item = {
        "id": item_id,
        "tiktok_id": tiktok_id,
        "type": _text(raw.get("type"), "type"),
        "status": status,
        "is_pinned": to_bool(raw.get("isPinned"), "isPinned"),
        "published_at": to_iso_timestamp(raw.get("publishedAt"), "publishedAt"),
        "created_at": to_iso_timestamp(raw.get("createdAt"), "createdAt"),
        "updated_at": to_iso_timestamp(raw.get("updatedAt"), "updatedAt"),
        "indexed_at": indexed_at,
        "days_running": days_running,
        "description": _text(content.get("description"), "content.description"),
        "language": _text(content.get("language"), "content.language"),
        "category": _text(content.get("category"), "content.category"),
        "music_id": _text(music.get("id"), "content.music.id"),
        "music_title": _text(music.get("title"), "content.music.title"),
        "music_author": _text(music.get("author"), "content.music.author"),
        "media_type": _text(media.get("type"), "media.type"),
        "thumbnail_url": _text(media.get("thumbnailUrl"), "media.thumbnailUrl"),
        "media_url": _text(media.get("mediaUrl"), "media.mediaUrl"),
        "video_url": _text(media.get("videoUrl"), "media.videoUrl"),
        "duration_sec": to_float(media.get("durationSec"), "media.durationSec"),
        "media_count": to_int(media.get("mediaCount"), "media.mediaCount"),
        "image_count": to_int(media.get("imageCount"), "media.imageCount"),
        **metrics,
        "relevance_score": to_float(metrics_raw.get("relevanceScore"), "metrics.relevanceScore"),
        "profile_id": profile_id,
        "shop_id": shop_id,
        "pin_is_current": to_bool(pin.get("isCurrent"), "pin.isCurrent"),
        "pin_first_pinned_at": to_iso_timestamp(pin.get("firstPinnedAt"), "pin.firstPinnedAt"),
        "pin_last_pinned_at": to_iso_timestamp(pin.get("lastPinnedAt"), "pin.lastPinnedAt"),
        "pin_last_unpinned_at": to_iso_timestamp(pin.get("lastUnpinnedAt"), "pin.lastUnpinnedAt"),
        "tiktok_url": _text(links.get("tiktokUrl"), "links.tiktokUrl"),
        "profile_url": _text(links.get("profileUrl"), "links.profileUrl"),
        "source_network": _text(source.get("network"), "source.network"),
        "source_type": _text(source.get("sourceType"), "source.sourceType"),
        "source_tiktok_page_id": _text(source.get("tiktokPageId"), "source.tiktokPageId"),
        "source_website_id": _text(source.get("websiteId"), "source.websiteId"),
        "source_domain": _text(source.get("domain"), "source.domain"),
        **seen,
        "request_id": request_id,
    }
    snapshot = {
        "item_id": item_id,
        "observed_on": observed_on,
        "tiktok_id": tiktok_id,
        "observed_at": observed_at,
        "indexed_at": indexed_at,
        "status": status,
        "days_running": days_running,
        **metrics,
        "request_id": request_id,
    }
    hashtags = [
        {
            "item_id": item_id,
            "position": n,
            "hashtag": _text(tag, f"content.hashtags[{n}]"),
            **seen,
        }
        for n, tag in enumerate(to_list(content, "hashtags"))
    ]
    media_rows = []
    for n, entry in enumerate(to_list(media, "medias")):
        if not isinstance(entry, dict):
            raise ValueError(f"field 'media.medias[{n}]' should be an object")
        media_rows.append(
            {
                "item_id": item_id,
                "source": "medias",
                "position": n,
                "media_type": _text(entry.get("type"), f"media.medias[{n}].type"),
                "url": _text(entry.get("url"), f"media.medias[{n}].url"),
                "media_order": to_int(entry.get("order"), f"media.medias[{n}].order"),
                **seen,
            }
        )
    for n, url in enumerate(to_list(media, "imageUrls")):
        media_rows.append(
            {
                "item_id": item_id,
                "source": "imageUrls",
                "position": n,
                "media_type": "image",
                "url": _text(url, f"media.imageUrls[{n}]"),
                "media_order": n,
                **seen,
            }
        )
    return ParsedItem(
        item=item,
        metrics=snapshot,
        hashtags=hashtags if "hashtags" in content else None,
        media=None if media and not {"medias", "imageUrls"} <= media.keys() else media_rows,
        profile=_parse_profile(profile_raw, seen) if profile_id else None,
        shop=_parse_shop(shop_raw, seen) if shop_raw and shop_id else None,
        page_snapshot=(
            _parse_page_snapshot(snapshot_raw, profile_id, seen)
            if snapshot_raw and profile_id
            else None
        ),
    )


def _parse_profile(p: Mapping[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    return {
        "profile_id": _text(p.get("id"), "profile.id"),
        "handle": _text(p.get("handle"), "profile.handle"),
        "name": _text(p.get("name"), "profile.name"),
        "avatar_url": _text(p.get("avatarUrl"), "profile.avatarUrl"),
        "bio": _text(p.get("bio"), "profile.bio"),
        "bio_url": _text(p.get("bioUrl"), "profile.bioUrl"),
        "account_type": _text(p.get("accountType"), "profile.accountType"),
        "sec_uid": _text(p.get("secUid"), "profile.secUid"),
        **{
            column: to_int(p.get(key), f"profile.{key}")
            for key, column in (
                ("followers", "followers"),
                ("following", "following"),
                ("totalTikToks", "total_tiktoks"),
                ("newTikToks", "new_tiktoks"),
                ("views", "views"),
                ("likes", "likes"),
            )
        },
        "percent_ads": to_float(p.get("percentAds"), "profile.percentAds"),
        "page_creation": to_iso_timestamp(p.get("pageCreation"), "profile.pageCreation"),
        **seen,
    }


def _parse_shop(s: Mapping[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    categories = [to_int(c, "shop.googleCategoryIds[]") for c in to_list(s, "googleCategoryIds")]
    return {
        "shop_id": _text(s.get("id"), "shop.id"),
        "domain": _text(s.get("domain"), "shop.domain"),
        "name": _text(s.get("name"), "shop.name"),
        "logo_url": _text(s.get("logoUrl"), "shop.logoUrl"),
        "favicon_url": _text(s.get("faviconUrl"), "shop.faviconUrl"),
        "country_code": _text(s.get("countryCode"), "shop.countryCode"),
        "monthly_visits": to_int(s.get("monthlyVisits"), "shop.monthlyVisits"),
        "traffic_growth_30d": to_float(s.get("trafficGrowth30d"), "shop.trafficGrowth30d"),
        "products_count": to_int(s.get("productsCount"), "shop.productsCount"),
        "google_category_ids": json.dumps([str(c) for c in categories]),
        **seen,
    }


def _parse_page_snapshot(
    s: Mapping[str, Any], profile_id: str, seen: dict[str, Any]
) -> dict[str, Any]:
    return {
        "profile_id": profile_id,
        "recorded_at": to_iso_timestamp(s.get("recordedAt"), "pageSnapshot.recordedAt"),
        **{
            column: to_int(s.get(key), f"pageSnapshot.{key}")
            for key, column in (
                ("adsCount", "ads_count"),
                ("organicCount", "organic_count"),
                ("totalTikToks", "total_tiktoks"),
                ("dailyViews", "daily_views"),
                ("dailyLikes", "daily_likes"),
                ("dailyFollowers", "daily_followers"),
            )
        },
        **seen,
    }
