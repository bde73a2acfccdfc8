"""One EnsembleData item (post, user, comment) into the typed rows of its tables (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ..fields import to_int, to_obj, to_text


def _epoch(value: Any, name: str) -> datetime | None:
    seconds = to_int(value, name)
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True)
class Observation:
    """When a pull saw what it saw: the snapshot day and the instant."""

    observed_on: date
    observed_at: datetime


@dataclass
class ParsedPost:
    """One aweme flattened into the rows of every table it feeds."""

    video: dict[str, Any]
    stats: dict[str, Any] | None
    hashtags: list[dict[str, Any]]
    author: dict[str, Any] | None
    music: dict[str, Any] | None


def parse_user(user: Mapping[str, Any], at: Observation) -> dict[str, Any]:
    """An author / follower / user-info object -> a `users` row (identity only)."""
    return {
        "uid": to_int(user.get("uid"), "author.uid", required=True),
        "unique_id": to_text(user.get("unique_id"), "unique_id"),
        "sec_uid": to_text(user.get("sec_uid"), "sec_uid"),
        "nickname": to_text(user.get("nickname"), "nickname"),
        "observed_at": at.observed_at,
    }


def parse_post(item: Any, at: Observation) -> ParsedPost:
    """One aweme (or a keyword hit wrapping it in `aweme_info`) -> typed rows.

    Raises ValueError naming the bad field. `author`, `statistics`, `music` and `text_extra`
    may be missing: their rows are then simply absent.
    """
    if isinstance(item, dict) and isinstance(item.get("aweme_info"), dict):
        item = item["aweme_info"]
    if not isinstance(item, dict):
        raise ValueError(f"item should be an object, got {type(item).__name__}")
    aweme_id = to_int(item.get("aweme_id"), "aweme_id", required=True)
    author = to_obj(item, "author")
    music = to_obj(item, "music")
    stats = to_obj(item, "statistics")
    video_obj = to_obj(item, "video")
    author_row = parse_user(author, at) if author is not None else None
    music_row = None
    if music is not None:
        music_row = {
            "music_id": to_int(music.get("id_str") or music.get("id"), "music.id", required=True),
            "title": to_text(music.get("title"), "music.title"),
            "author": to_text(music.get("author"), "music.author"),
            "observed_at": at.observed_at,
        }
    video = {
        "aweme_id": aweme_id,
        "description": to_text(item.get("desc"), "desc"),
        "create_time": _epoch(item.get("create_time"), "create_time"),
        "region": to_text(item.get("region"), "region"),
        "duration_ms": to_int((video_obj or {}).get("duration"), "video.duration"),
        "author_uid": None if author_row is None else author_row["uid"],
        "author_unique_id": None if author_row is None else author_row["unique_id"],
        "music_id": None if music_row is None else music_row["music_id"],
        "observed_at": at.observed_at,
    }
    stats_row = None
    if stats is not None:
        stats_row = {
            "aweme_id": aweme_id,
            "observed_on": at.observed_on,
            "observed_at": at.observed_at,
            "plays": to_int(stats.get("play_count"), "statistics.play_count"),
            "likes": to_int(stats.get("digg_count"), "statistics.digg_count"),
            "comments": to_int(stats.get("comment_count"), "statistics.comment_count"),
            "shares": to_int(stats.get("share_count"), "statistics.share_count"),
            "saves": to_int(stats.get("collect_count"), "statistics.collect_count"),
        }
    text_extra = item.get("text_extra") or []
    if not isinstance(text_extra, list):
        raise ValueError(f"field 'text_extra' should be a list, got {type(text_extra).__name__}")
    tags: list[str] = []
    for entry in text_extra:
        if not isinstance(entry, dict):
            raise ValueError("field 'text_extra' should hold objects")
        name = to_text(entry.get("hashtag_name"), "text_extra.hashtag_name")
        if name and name.lower() not in tags:
            tags.append(name.lower())
    hashtags = [
        {"aweme_id": aweme_id, "position": n, "hashtag": tag} for n, tag in enumerate(tags, 1)
    ]
    return ParsedPost(video, stats_row, hashtags, author_row, music_row)


def parse_user_info(user: Any, at: Observation) -> tuple[dict[str, Any], dict[str, Any]]:
    """A user-info `user` object -> (`users` row, `user_stats` snapshot row)."""
    if not isinstance(user, dict):
        raise ValueError(f"field 'user' should be an object, got {type(user).__name__}")
    row = parse_user(user, at)
    verified = user.get("verified")
    if verified is not None and not isinstance(verified, bool):
        raise ValueError("field 'verified' should be true/false")
    stats = {
        "uid": row["uid"],
        "observed_on": at.observed_on,
        "observed_at": at.observed_at,
        "followers": to_int(user.get("follower_count"), "follower_count"),
        "followings": to_int(user.get("following_count"), "following_count"),
        "videos": to_int(user.get("aweme_count"), "aweme_count"),
        "likes": to_int(user.get("total_favorited"), "total_favorited"),
        "region": to_text(user.get("region"), "region"),
        "signature": to_text(user.get("signature"), "signature"),
        "verified": verified,
    }
    return row, stats


def parse_comment(item: Any, at: Observation) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One comment -> (`comments` row, its author's `users` row or None)."""
    if not isinstance(item, dict):
        raise ValueError(f"comment should be an object, got {type(item).__name__}")
    user = to_obj(item, "user")
    author = parse_user(user, at) if user is not None else None
    row = {
        "comment_id": to_int(item.get("cid"), "cid", required=True),
        "aweme_id": to_int(item.get("aweme_id"), "aweme_id", required=True),
        "text": to_text(item.get("text"), "text"),
        "create_time": _epoch(item.get("create_time"), "create_time"),
        "likes": to_int(item.get("digg_count"), "digg_count"),
        "replies": to_int(item.get("reply_comment_total"), "reply_comment_total"),
        "user_uid": None if author is None else author["uid"],
        "observed_on": at.observed_on,
    }
    return row, author
