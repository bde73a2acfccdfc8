"""EnsembleData's tables: arrow schemas and keys, tombstone rows, and the seed's shape of each
kind of item, split over the tables it lands in (schema drift)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ..fields import SeedShape
from ..report import Drift
from ..snapshot import TOMBSTONE
from .settings import PROFILE

# -- tables ---------------------------------------------------------------------------------

_TS = pa.timestamp("us", tz="UTC")


def _schema(*fields: pa.Field | tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema(list(fields))


SCHEMAS: dict[str, pa.Schema] = {
    "videos": _schema(
        pa.field("aweme_id", pa.int64(), nullable=False),
        ("description", pa.string()),
        ("create_time", _TS),
        ("region", pa.string()),
        ("duration_ms", pa.int64()),
        ("author_uid", pa.int64()),
        ("author_unique_id", pa.string()),
        ("music_id", pa.int64()),
        ("observed_at", _TS),
    ),
    "video_stats": _schema(
        pa.field("aweme_id", pa.int64(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        ("observed_at", _TS),
        ("plays", pa.int64()),
        ("likes", pa.int64()),
        ("comments", pa.int64()),
        ("shares", pa.int64()),
        ("saves", pa.int64()),
    ),
    "video_hashtags": _schema(
        pa.field("aweme_id", pa.int64(), nullable=False),
        pa.field("position", pa.int64(), nullable=False),
        ("hashtag", pa.string()),
        (TOMBSTONE, pa.bool_()),
    ),
    "users": _schema(
        pa.field("uid", pa.int64(), nullable=False),
        ("unique_id", pa.string()),
        ("sec_uid", pa.string()),
        ("nickname", pa.string()),
        ("observed_at", _TS),
    ),
    "user_stats": _schema(
        pa.field("uid", pa.int64(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        ("observed_at", _TS),
        ("followers", pa.int64()),
        ("followings", pa.int64()),
        ("videos", pa.int64()),
        ("likes", pa.int64()),
        ("region", pa.string()),
        ("signature", pa.string()),
        ("verified", pa.bool_()),
    ),
    "music": _schema(
        pa.field("music_id", pa.int64(), nullable=False),
        ("title", pa.string()),
        ("author", pa.string()),
        ("observed_at", _TS),
    ),
    "music_stats": _schema(
        pa.field("music_id", pa.int64(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        ("posts", pa.int64()),
    ),
    "comments": _schema(
        pa.field("comment_id", pa.int64(), nullable=False),
        pa.field("aweme_id", pa.int64(), nullable=False),
        ("text", pa.string()),
        ("create_time", _TS),
        ("likes", pa.int64()),
        ("replies", pa.int64()),
        ("user_uid", pa.int64()),
        ("observed_on", pa.date32()),
    ),
    "follows": _schema(
        pa.field("uid", pa.int64(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
        pa.field("other_uid", pa.int64(), nullable=False),
        ("position", pa.int64()),
        ("observed_on", pa.date32()),
        (TOMBSTONE, pa.bool_()),
    ),
    "search_hits": _schema(
        pa.field("watch_key", pa.string(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        pa.field("aweme_id", pa.int64(), nullable=False),
        ("position", pa.int64()),
        ("endpoint", pa.string()),
    ),
}

# table -> (primary key, merge key replaced as a unit or None)
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "videos": (("aweme_id",), None),
    "video_stats": (("aweme_id", "observed_on"), None),
    "video_hashtags": (("aweme_id", "position"), ("aweme_id",)),
    "users": (("uid",), None),
    "user_stats": (("uid", "observed_on"), None),
    "music": (("music_id",), None),
    "music_stats": (("music_id", "observed_on"), None),
    "comments": (("comment_id",), None),
    "follows": (("uid", "relation", "other_uid"), ("uid", "relation")),
    "search_hits": (("watch_key", "observed_on", "aweme_id"), ("watch_key", "observed_on")),
}
TABLES = tuple(SCHEMAS)


def tombstone(table: str, parent: tuple[Any, ...]) -> dict[str, Any]:
    """The row that empties `parent`'s children in a merge-key table and is itself dropped.

    dlt's delete-insert deletes every stored row under the staged row's merge key, then
    inserts only rows whose `hard_delete` column is not set. Key columns outside the merge
    key get 0: no real child has position 0 or uid 0.
    """
    primary_key, merge_key = KEYS[table]
    if merge_key is None or TOMBSTONE not in SCHEMAS[table].names:
        raise ValueError(f"{table} has no tombstones")
    row: dict[str, Any] = dict(zip(merge_key, parent, strict=True))
    for column in primary_key:
        row.setdefault(column, 0)
    row[TOMBSTONE] = True
    return row


# -- seed shapes (schema drift) -------------------------------------------------------------


@dataclass(frozen=True)
class ItemShape:
    """One kind of vendor item, its fields split over the raw tables they land in.

    Each part is the seed shape of one table (`SeedShape.columns`: the column a field lands
    in). A field no part names is reported as `added` on the first part: the table the item
    is mainly about. Seed: the aweme, user-info and follower fields of
    `004_d1b5783beaf0fb5d.txt` and seeds/README.md; where the guide only points at the
    vendor's response samples (comments, music, `text_extra` entries), the fields the vendor
    sends for them.
    """

    name: str
    parts: tuple[SeedShape, ...]

    def tally(self) -> ItemTally:
        return ItemTally(self)


class ItemTally:
    """The fields the items of one kind carried in one watch entry, one tally per table."""

    def __init__(self, shape: ItemShape) -> None:
        self.known = frozenset(name for part in shape.parts for name in part.fields)
        self.parts = [(part, part.tally()) for part in shape.parts]

    def add(self, item: Any) -> None:
        if not isinstance(item, dict):
            return
        for n, (part, tally) in enumerate(self.parts):
            tally.add(
                {
                    k: v
                    for k, v in item.items()
                    if k in part.fields or (n == 0 and k not in self.known)
                }
            )

    def drift(self, partition: str) -> set[Drift]:
        return {d for _, tally in self.parts for d in tally.drift(partition)}


def _part(
    table: str,
    fields: Mapping[str, str],
    optional: tuple[str, ...] = (),
    columns: Mapping[str, str] | None = None,
) -> SeedShape:
    return SeedShape(PROFILE.name, table, fields, frozenset(optional), columns)


_USER_FIELDS = dict.fromkeys(("uid", "unique_id", "sec_uid", "nickname"), "string")
USER_ITEM = ItemShape("user", (_part("users", _USER_FIELDS),))  # an author, a commenter
# A follower / following: its `uid` is the other side of a `follows` row.
FOLLOW_ITEM = ItemShape(
    "follow",
    (
        _part("users", {k: v for k, v in _USER_FIELDS.items() if k != "uid"}),
        _part("follows", {"uid": "string"}, columns={"uid": "other_uid"}),
    ),
)
POST_ITEM = ItemShape(
    "post",
    (
        _part(
            "videos",
            {
                **dict.fromkeys(("aweme_id", "desc", "region"), "string"),
                "create_time": "number",
                **dict.fromkeys(("author", "video", "music"), "object"),
            },
            optional=("music",),  # a deleted or muted sound: the post has no music object
            columns={
                "desc": "description",
                "video": "duration_ms",
                "author": "author_uid",
                "music": "music_id",
            },
        ),
        _part("video_stats", {"statistics": "object"}),
        _part("video_hashtags", {"text_extra": "array"}),
    ),
)
STATISTICS_ITEM = ItemShape(
    "statistics",
    (
        _part(
            "video_stats",
            {
                "aweme_id": "string",
                **dict.fromkeys(
                    ("play_count", "digg_count", "comment_count", "share_count", "collect_count"),
                    "number",
                ),
            },
            columns={
                "play_count": "plays",
                "digg_count": "likes",
                "comment_count": "comments",
                "share_count": "shares",
                "collect_count": "saves",
            },
        ),
    ),
)
HASHTAG_ITEM = ItemShape(
    "text_extra",
    (
        _part(
            "video_hashtags",
            {"hashtag_name": "string", "type": "number"},
            columns={"hashtag_name": "hashtag"},
        ),
    ),
)
_MUSIC_FIELDS = {"id": "number", **dict.fromkeys(("id_str", "title", "author"), "string")}
MUSIC_ITEM = ItemShape("music", (_part("music", _MUSIC_FIELDS, columns={"id": "music_id"}),))
MUSIC_DETAILS_ITEM = ItemShape(
    "music_details",
    (
        _part("music", _MUSIC_FIELDS, columns={"id": "music_id"}),
        _part("music_stats", {"user_count": "number"}, columns={"user_count": "posts"}),
    ),
)
USER_INFO_ITEM = ItemShape(
    "user_info",
    (
        _part(
            "user_stats",
            {
                **dict.fromkeys(("region", "signature"), "string"),
                "verified": "boolean",
                **dict.fromkeys(
                    ("follower_count", "following_count", "aweme_count", "total_favorited"),
                    "number",
                ),
            },
            columns={
                "follower_count": "followers",
                "following_count": "followings",
                "aweme_count": "videos",
                "total_favorited": "likes",
            },
        ),
        _part("users", _USER_FIELDS),
    ),
)
COMMENT_ITEM = ItemShape(
    "comment",
    (
        _part(
            "comments",
            {
                **dict.fromkeys(("cid", "aweme_id", "text"), "string"),
                **dict.fromkeys(("create_time", "digg_count", "reply_comment_total"), "number"),
                "user": "object",
            },
            columns={
                "cid": "comment_id",
                "digg_count": "likes",
                "reply_comment_total": "replies",
                "user": "user_uid",
            },
        ),
    ),
)
# A keyword search hit wraps its post: the wrapper is what the hit is.
KEYWORD_HIT_ITEM = ItemShape("keyword_hit", (_part("search_hits", {"aweme_info": "object"}),))


def tally_post(tallies: Callable[[ItemShape], ItemTally], item: Any) -> None:
    """Tally one raw post (or keyword hit) and the objects in it that feed other tables."""
    if isinstance(item, dict) and isinstance(item.get("aweme_info"), dict):
        tallies(KEYWORD_HIT_ITEM).add(item)
        item = item["aweme_info"]
    if not isinstance(item, dict):
        return
    tallies(POST_ITEM).add(item)
    for key, shape in (
        ("statistics", STATISTICS_ITEM),
        ("author", USER_ITEM),
        ("music", MUSIC_ITEM),
    ):
        if isinstance(item.get(key), dict):
            tallies(shape).add(item[key])
    if isinstance(item.get("text_extra"), list):
        for entry in item["text_extra"]:
            tallies(HASHTAG_ITEM).add(entry)
