"""TikTok Research parsing: the row schema, one raw video of either mode -> one typed row,
and the seed shapes schema drift is noted against (per query and publish day).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from ..fields import FieldTally, SeedShape, to_int, to_text
from ..report import Drift
from .params import Window
from .settings import PROFILE, QUERY_FIELDS, TABLE, TASK_FIELDS, Mode

_INT_FIELDS = (
    "music_id",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
    "favorites_count",
    "playlist_id",
    "video_duration",
    "duration_type",
)
_TEXT_FIELDS = ("username", "region_code", "video_description", "voice_to_text")
_LIST_FIELDS = ("effect_ids", "hashtag_names", "video_mention_list")
# The JSON type of every field either mode can ask for (seed table, seeds/README.md): ids and
# counts are numbers, lists arrays, `video_label` an object, the STEM flag a boolean.
FIELD_TYPES: dict[str, str] = {
    **dict.fromkeys(("id", "create_time", *_INT_FIELDS), "number"),
    **dict.fromkeys(_TEXT_FIELDS, "string"),
    **dict.fromkeys((*_LIST_FIELDS, "hashtag_info_list"), "array"),
    "video_label": "object",
    **dict.fromkeys(("is_stem_verified", "stem_verified"), "boolean"),
}
# "Missing fields are omitted, not null": these are absent from a video that has none (no
# effect, playlist, subtitles, mention or label), so a slice without them has not drifted.
OMITTED_FIELDS = frozenset(
    {"effect_ids", "playlist_id", "voice_to_text", "video_mention_list", "video_label"}
)

VIDEO_SCHEMA = pa.schema(
    [
        pa.field("query_name", pa.string(), nullable=False),
        pa.field("id", pa.int64(), nullable=False),
        pa.field("create_time", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("create_day", pa.date32(), nullable=False),
        ("username", pa.string()),
        ("region_code", pa.string()),
        ("video_description", pa.string()),
        ("voice_to_text", pa.string()),
        *[(name, pa.int64()) for name in _INT_FIELDS],
        ("is_stem_verified", pa.bool_()),
        *[(name, pa.list_(pa.string())) for name in _LIST_FIELDS],
        ("hashtag_info_list", pa.string()),  # JSON text, hashtag ids as digit strings
        ("video_label", pa.string()),  # JSON text
        pa.field("pulled_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ("log_id", pa.string()),
    ]
)


def _text_list(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ValueError(f"field {name!r} should be a list of strings")
    return [str(v) for v in value]


def _hashtag_info(value: Any) -> str | None:
    """`hashtag_info_list` as compact JSON text, each `hashtag_id` re-emitted as a digit
    string so no later JSON reader (DuckDB's casts, pandas) can round it through a float."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("field 'hashtag_info_list' should be a list of objects")
    infos = []
    for info in value:
        hashtag = to_int(info.get("hashtag_id"), "hashtag_info_list.hashtag_id")
        infos.append(info if hashtag is None else {**info, "hashtag_id": str(hashtag)})
    return json.dumps(infos, ensure_ascii=False, separators=(",", ":"))


def _json_object(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"field {name!r} should be an object, got {type(value).__name__}")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_video(
    item: Any, query_name: str, pulled_at: datetime, log_id: str | None = None
) -> dict[str, Any]:
    """One raw video of either mode -> one typed row; omitted fields become NULL.

    One column per meaning, whichever mode filled it: `is_stem_verified` takes the HTTP
    query's `is_stem_verified` or the task's `stem_verified` (the same flag). Durations are
    two meanings, so two columns: `video_duration` is seconds (mode query), `duration_type`
    the seed's duration bucket (mode task); neither is derived from the other, because the
    seed does not define the buckets' bounds. ValueError names the bad field.
    """
    if not isinstance(item, dict):
        raise ValueError(f"video should be an object, got {type(item).__name__}")
    video_id = to_int(item.get("id"), "id", required=True)
    if video_id is not None and video_id <= 0:
        raise ValueError(f"field 'id' should be a positive video id, got {video_id}")
    created = to_int(item.get("create_time"), "create_time", required=True)
    create_time = datetime.fromtimestamp(created or 0, tz=UTC)
    row: dict[str, Any] = {
        "query_name": query_name,
        "id": video_id,
        "create_time": create_time,
        "create_day": create_time.date(),
        "pulled_at": pulled_at,
        "log_id": log_id,
        "hashtag_info_list": _hashtag_info(item.get("hashtag_info_list")),
        "video_label": _json_object(item.get("video_label"), "video_label"),
    }
    for name in _INT_FIELDS:
        row[name] = to_int(item.get(name), name)
    for name in _TEXT_FIELDS:
        row[name] = to_text(item.get(name), name)
    for name in _LIST_FIELDS:
        row[name] = _text_list(item.get(name), name)
    source = "is_stem_verified" if "is_stem_verified" in item else "stem_verified"
    verified = item.get(source)
    if verified is not None and not isinstance(verified, bool):
        raise ValueError(f"field {source!r} should be a boolean, got {verified!r}")
    row["is_stem_verified"] = verified
    return row


def rows_to_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=VIDEO_SCHEMA)


def seed_shape(mode: Mode) -> SeedShape:
    """What a video of `mode` should carry: the Research API returns only the fields asked
    for, so the mode's requested field list is the shape."""
    fields = QUERY_FIELDS if mode == "query" else TASK_FIELDS
    return SeedShape(
        PROFILE.name,
        TABLE,
        {name: FIELD_TYPES[name] for name in fields},
        optional=OMITTED_FIELDS & set(fields),
        columns={"stem_verified": "is_stem_verified"},
    )


class PublishDayShapes:
    """The fields the videos of one (query, window) carried, one tally per publish day.

    A (query, publish day) is what a load replaces (the merge key) and a daily partition, so
    it is the slice drift is noted for: `where` selects exactly its rows.
    """

    def __init__(self, shape: SeedShape, query_name: str, window: Window) -> None:
        self.shape, self.query_name, self.window = shape, query_name, window
        self._days: dict[date, FieldTally] = {}

    def add(self, item: Any) -> None:
        """Tally one raw video under its publish day (the window's first day if unreadable)."""
        created = item.get("create_time") if isinstance(item, dict) else None
        day = self.window.start
        if isinstance(created, int) and not isinstance(created, bool) and 0 <= created < 2**40:
            day = datetime.fromtimestamp(created, tz=UTC).date()
        self._days.setdefault(day, self.shape.tally()).add(item)

    def drift(self) -> set[Drift]:
        found: set[Drift] = set()
        for day, tally in self._days.items():
            where = {"query_name": self.query_name, "create_day": day}
            found |= tally.drift(day.isoformat(), where)
        return found
