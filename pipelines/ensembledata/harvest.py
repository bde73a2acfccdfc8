"""EnsembleData's harvest: every watch entry walked in watchlist order, kept whole or with the
requests the vendor refused listed, and recorded in dlt's state once it has landed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from ..errors import InvalidRequest
from ..fields import to_int, to_text
from ..http import VendorClient, VendorResponse
from ..snapshot import Keys, Row, SnapshotHarvest
from .fetching import (
    EnsembleDataReport,
    FailedRequest,
    Fetcher,
    _digest,
    _Entry,
    _no_state,
    _Unit,
    data_of,
    malformed,
    walk,
)
from .parsing import Observation, parse_comment, parse_post, parse_user, parse_user_info
from .schemas import (
    COMMENT_ITEM,
    FOLLOW_ITEM,
    KEYS,
    MUSIC_DETAILS_ITEM,
    SCHEMAS,
    USER_INFO_ITEM,
    USER_ITEM,
    ItemShape,
    ItemTally,
    tally_post,
    tombstone,
)
from .settings import (
    HASHTAG_POSTS,
    HASHTAG_RECENT_POSTS,
    KEYWORD_FULL_SEARCH,
    KEYWORD_SEARCH,
    MAX_FOLLOWERS,
    MUSIC_DETAILS,
    MUSIC_POSTS,
    POST_COMMENTS,
    POST_INFO,
    POST_MULTI_INFO,
    PROFILE,
    USED_UNITS,
    USER_FOLLOWERS,
    USER_FOLLOWINGS,
    USER_INFO,
    USER_INFO_FROM_SECUID,
    USER_POSTS,
    USER_POSTS_FROM_SECUID,
    EnsembleDataWatch,
    KeywordWatch,
    UserWatch,
    batches,
    keyword_params,
)

logger = logging.getLogger(__name__)


@dataclass
class Harvest(SnapshotHarvest):
    """Every watch entry's rows, fetched once, lazily.

    A watch entry lands with every request of it the vendor answered (a refused one is
    listed in the report), or not at all when the run stops during it. `state` is where
    entries completed today are recorded (the source passes dlt's source state; without it
    nothing is remembered between runs).
    """

    vendor: ClassVar[str] = PROFILE.name
    schemas: ClassVar[Mapping[str, pa.Schema]] = SCHEMAS
    keys: ClassVar[Keys] = KEYS

    watch: EnsembleDataWatch
    at: Observation
    make_client: Callable[[], VendorClient]
    report: EnsembleDataReport
    state: Callable[[], MutableMapping[str, Any]] = _no_state
    # item kind -> the fields its items carried in the watch entry being fetched
    _tallies: dict[str, ItemTally] = field(default_factory=dict)

    def tombstone(self, table: str, parent: tuple[Any, ...]) -> Row:
        return tombstone(table, parent)

    def _commit(self, unit: _Unit) -> None:
        for table, rows in unit.tables.items():
            for row in rows:
                self.put(table, row)
        for table, by_parent in unit.children.items():
            for parent, children in by_parent.items():
                self.replace(table, parent, children)

    def _tally(self, shape: ItemShape) -> ItemTally:
        if shape.name not in self._tallies:
            self._tallies[shape.name] = shape.tally()
        return self._tallies[shape.name]

    def _note_drift(self) -> None:
        """The drift of the entry just fetched (whole or not): a slice of the day's partition.

        No column selects one entry's rows, so a missing field's stored values are kept in
        every row of the load that has it NULL (by each table's primary key).
        """
        day = self.at.observed_on.isoformat()
        for tally in self._tallies.values():
            self.report.note_drift(tally.drift(day))
        self._tallies.clear()

    def _posts(
        self,
        unit: _Unit,
        items: list[Any],
        path: str,
        page: int,
        resp: VendorResponse,
        hits: str | None = None,
        offset: int = 0,
    ) -> int:
        for n, item in enumerate(items):
            tally_post(self._tally, item)
            try:
                parsed = parse_post(item, self.at)
            except ValueError as exc:
                raise malformed(f"{exc} (item {n + 1})", path, page, resp) from None
            unit.post(parsed)
            if hits is not None:
                unit.put(
                    "search_hits",
                    {
                        "watch_key": hits,
                        "observed_on": self.at.observed_on,
                        "aweme_id": parsed.video["aweme_id"],
                        "position": offset + n + 1,
                        "endpoint": path,
                    },
                )
        return offset + len(items)

    def _walk_posts(
        self,
        fetcher: Fetcher,
        path: str,
        params: dict[str, Any],
        key: str,
        cursor_param: str = "cursor",
    ) -> _Unit:
        unit = _Unit()
        result = walk(
            fetcher,
            path,
            params,
            list_key="data",
            max_pages=self.watch.max_pages,
            cursor_param=cursor_param,
        )
        self.report.walk_ends[result.stopped] += 1
        offset = 0
        for page, (items, response) in enumerate(result.pages, 1):
            offset = self._posts(unit, items, path, page, response, key, offset)
        return unit

    def _one_shot_posts(
        self, fetcher: Fetcher, path: str, params: dict[str, Any], key: str | None
    ) -> _Unit:
        """Full searches, post info, multi-info: one answer holding a list of posts."""
        unit = _Unit()
        response = fetcher.get(path, params)
        data = data_of(response, path)
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise malformed("`data` should hold a list of posts", path, 1, response)
        self._posts(unit, items, path, 1, response, key)
        return unit

    def _keyword(self, fetcher: Fetcher, entry: KeywordWatch) -> _Unit:
        key = f"keyword:{entry.name}"
        if entry.full:
            return self._one_shot_posts(fetcher, KEYWORD_FULL_SEARCH, keyword_params(entry), key)
        return self._walk_posts(
            fetcher, KEYWORD_SEARCH, {**keyword_params(entry), "cursor": 0}, key
        )

    def _user(self, fetcher: Fetcher, entry: UserWatch) -> _Unit:
        unit = _Unit()
        path, params = (
            (USER_INFO, {"username": entry.username})
            if entry.username
            else (USER_INFO_FROM_SECUID, {"secUid": entry.sec_uid})
        )
        response = fetcher.get(path, params)
        data = data_of(response, path)
        raw = (data or {}).get("user") if isinstance(data, dict) else data
        self._tally(USER_INFO_ITEM).add(raw)
        try:
            user, stats = parse_user_info(raw, self.at)
        except ValueError as exc:
            raise malformed(str(exc), path, 1, response) from None
        unit.put("users", user)
        unit.put("user_stats", stats)
        if entry.posts:
            posts_path, posts_params = (
                (USER_POSTS, {"username": entry.username})
                if entry.username
                else (USER_POSTS_FROM_SECUID, {"secUid": entry.sec_uid})
            )
            posts_params["depth"] = entry.depth
            if entry.oldest_createtime is not None:
                posts_params["oldest_createtime"] = entry.oldest_createtime
            unit.attempt(
                lambda: self._walk_posts(
                    fetcher, posts_path, posts_params, entry.key, "start_cursor"
                )
            )
        for relation, wanted in (("follower", entry.followers), ("following", entry.followings)):
            if wanted:
                unit.attempt(lambda relation=relation: self._follows(fetcher, user, relation))
        return unit

    def _follows(self, fetcher: Fetcher, user: dict[str, Any], relation: str) -> _Unit:
        unit = _Unit()
        path = USER_FOLLOWERS if relation == "follower" else USER_FOLLOWINGS
        list_key = "followers" if relation == "follower" else "followings"
        result = walk(
            fetcher,
            path,
            {"id": str(user["uid"]), "secUid": user["sec_uid"], "cursor": 0},
            list_key=list_key,
            max_pages=min(self.watch.max_pages, MAX_FOLLOWERS // 100),
            page_token=relation == "following",
        )
        self.report.walk_ends[result.stopped] += 1
        rows: list[dict[str, Any]] = []
        for page, (items, response) in enumerate(result.pages, 1):
            for item in items:
                self._tally(FOLLOW_ITEM).add(item)
                try:
                    other = parse_user(item, self.at) if isinstance(item, dict) else None
                except ValueError as exc:
                    raise malformed(str(exc), path, page, response) from None
                if other is None:
                    raise malformed(f"`{list_key}` should hold objects", path, page, response)
                unit.put("users", other)
                rows.append(
                    {
                        "uid": user["uid"],
                        "relation": relation,
                        "other_uid": other["uid"],
                        "position": len(rows) + 1,
                        "observed_on": self.at.observed_on,
                    }
                )
        unit.replace("follows", (user["uid"], relation), rows)
        return unit

    def _comments(self, fetcher: Fetcher, aweme_id: str) -> _Unit:
        unit = _Unit()
        result = walk(
            fetcher,
            POST_COMMENTS,
            {"aweme_id": aweme_id, "cursor": 0},
            list_key="comments",
            max_pages=self.watch.max_pages,
        )
        self.report.walk_ends[result.stopped] += 1
        for page, (items, response) in enumerate(result.pages, 1):
            for item in items:
                self._tally(COMMENT_ITEM).add(item)
                if isinstance(item, dict):
                    self._tally(USER_ITEM).add(item.get("user"))
                try:
                    row, author = parse_comment(item, self.at)
                except ValueError as exc:
                    raise malformed(str(exc), POST_COMMENTS, page, response) from None
                unit.put("comments", row)
                if author is not None:
                    unit.put("users", author)
        return unit

    def _music(self, fetcher: Fetcher, music_id: str) -> _Unit:
        response = fetcher.get(MUSIC_DETAILS, {"id": music_id})
        data = data_of(response, MUSIC_DETAILS)
        if not isinstance(data, dict):
            raise malformed("`data` should be an object", MUSIC_DETAILS, 1, response)
        self._tally(MUSIC_DETAILS_ITEM).add(data)
        try:
            mid = to_int(data.get("id_str") or data.get("id"), "id", required=True)
            row = {
                "music_id": mid,
                "title": to_text(data.get("title"), "title"),
                "author": to_text(data.get("author"), "author"),
                "observed_at": self.at.observed_at,
            }
            posts = to_int(data.get("user_count"), "user_count")
        except ValueError as exc:
            raise malformed(str(exc), MUSIC_DETAILS, 1, response) from None
        unit = _Unit()
        unit.attempt(
            lambda: self._walk_posts(
                fetcher, MUSIC_POSTS, {"music_id": music_id, "cursor": 0}, f"music:{music_id}"
            )
        )
        unit.put("music", row)
        unit.put(
            "music_stats", {"music_id": mid, "observed_on": self.at.observed_on, "posts": posts}
        )
        return unit

    def _entries(self, fetcher: Fetcher) -> Iterator[_Entry]:
        """Every watch entry, in watchlist order, with a digest of what it asks for."""
        w = self.watch
        depth = w.max_pages
        for tag in w.hashtags:
            yield _Entry(
                f"hashtag:{tag}",
                _digest(tag, depth),
                lambda tag=tag: self._walk_posts(
                    fetcher, HASHTAG_POSTS, {"name": tag, "cursor": 0}, f"hashtag:{tag}"
                ),
            )
        for full in w.hashtag_full_searches:
            key = f"hashtag_full:{full.name}"
            yield _Entry(
                key,
                _digest(full.model_dump()),
                lambda full=full, key=key: self._one_shot_posts(
                    fetcher,
                    HASHTAG_RECENT_POSTS,
                    {"name": full.name, "days": full.days, "max_cursor": full.max_cursor},
                    key,
                ),
            )
        for kw in w.keywords:
            yield _Entry(
                f"keyword:{kw.name}",
                _digest(kw.model_dump(), depth),
                lambda kw=kw: self._keyword(fetcher, kw),
            )
        for user in w.users:
            yield _Entry(
                user.key,
                _digest(user.model_dump(), depth),
                lambda user=user: self._user(fetcher, user),
            )
        for n, batch in enumerate(batches(w.post_ids), 1):
            yield _Entry(
                f"posts:batch{n}",
                _digest(batch),
                lambda batch=batch: self._one_shot_posts(
                    fetcher, POST_MULTI_INFO, {"ids": ";".join(batch)}, None
                ),
            )
        for url in w.post_urls:
            yield _Entry(
                f"post:{url}",
                _digest(url),
                lambda url=url: self._one_shot_posts(fetcher, POST_INFO, {"url": url}, None),
            )
        for aweme_id in w.comments:
            yield _Entry(
                f"comments:{aweme_id}",
                _digest(aweme_id, depth),
                lambda a=aweme_id: self._comments(fetcher, a),
            )
        for music_id in w.music_ids:
            yield _Entry(
                f"music:{music_id}",
                _digest(music_id, depth),
                lambda m=music_id: self._music(fetcher, m),
            )

    def _completed_today(self) -> MutableMapping[str, str]:
        """label -> digest of the entries already loaded for this observation day."""
        state = self.state()
        day = self.at.observed_on.isoformat()
        progress = state.get("completed")
        if not isinstance(progress, dict) or progress.get("observed_on") != day:
            progress = {"observed_on": day, "entries": {}}  # a new day starts fresh
            state["completed"] = progress
        return progress["entries"]

    def fetch(self, client: VendorClient) -> None:
        completed = self._completed_today()
        fetcher = Fetcher(client, self.report)
        if self.report.units_budget is not None:
            today = self.at.observed_at.date().isoformat()
            answer = fetcher.get(USED_UNITS, {"date": today})
            used = data_of(answer, USED_UNITS)
            if isinstance(used, bool) or not isinstance(used, int | float | None):
                raise malformed("`data` should be the units used", USED_UNITS, 1, answer)
            self.report.units_used_before = float(used or 0)
        for entry in self._entries(fetcher):
            if completed.get(entry.label) == entry.digest:
                self.report.entries_resumed.append(entry.label)
                continue
            try:
                unit = entry.fetch()
            except InvalidRequest as exc:
                if exc.status == 404:  # the entry's subject does not exist
                    self.report.empty_slices.append(f"{entry.label} (not found)")
                    completed[entry.label] = entry.digest
                    continue
                unit = _Unit(failed=[exc])  # its first request refused: nothing to keep
            finally:
                self._note_drift()  # a retyped field is named even if it stops the run
            for exc in unit.failed:
                failure = FailedRequest.of(entry.label, exc)
                logger.warning("kept the rest of the watch entry; refused: %s", failure)
                self.report.failed_requests.append(failure)
            if unit.empty and not unit.failed:
                self.report.empty_slices.append(entry.label)
            self._commit(unit)
            # dlt saves its state in the load package of these rows: both land or
            # neither; an entry with a refused request is asked again by a re-run
            if not unit.failed:
                completed[entry.label] = entry.digest
