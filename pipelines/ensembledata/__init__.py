"""EnsembleData TikTok API: hashtag, keyword, creator, post, comment, follow and music monitoring.

Seed `004_d1b5783beaf0fb5d.txt` (the vendor's TikTok guide) plus the EnsembleData facts in
seeds/README.md. Every call is a `GET` under `https://ensembledata.com/apis` with the token as
the `token` query parameter (the shared client adds it and redacts it everywhere). Units
spent are in the `units_charged` response header: summed per run, and held under a daily
budget checked BEFORE each request (units used earlier today, read from the free
`/customer/get-used-units`, + units this run + what the request may cost): the run stops
cleanly before it would exceed the budget and says how much it used. What a request may cost
is conservative: per endpoint, the larger of its price in `PRICES` and the most this run has
seen the vendor charge for that path (per step: depth, 10 ids, 20 posts); the full searches,
whose cost follows what they find, need headroom for their worst case. Should the vendor
still charge past the budget, the run stops at once and says by how much.

Errors are `{"detail": ...}`: 491 token not found and 492 (the token's subscription is
inactive/expired; the seed is silent, so it is treated as an account problem) are AuthError;
493 (a per-account limit; silent in the seed, treated like 495) and 495 units used up are
QuotaExhausted; 422 InvalidRequest; 429 RateLimited; 500 / 520 ServerError (retried). A 4xx
whose body still carries `data` is data, as the vendor's own client treats it.

Lists page with `cursor` -> `nextCursor` (user posts: `start_cursor`; followings also pass the
previous `nextPageToken` as `page_token`). A walk stops at the end marker (no or null
`nextCursor` / `nextPageToken`), at the configured depth (`max_pages`), or when the vendor
answers a cursor it already gave (it never loops).

Tables (dataset `raw_ensembledata`): `videos` keyed by `aweme_id` (the 19-digit TikTok id),
`video_hashtags` (from `text_extra`), `users`, `music`, `comments`, `follows`,
`search_hits`, and three observation snapshots keyed by (id, `observed_on`) so a same-day
re-pull replaces and the next day appends exactly one row per item: `video_stats` (plays,
likes, comments, shares, saves: view velocity), `user_stats` (followers) and `music_stats`.
Each watch entry is one unit of work, fetched and then kept; the entries completed on an
observation day are recorded in the source's dlt state (committed with the rows they loaded),
so a same-day re-run, e.g. after a budget stop, buys only what is missing; a new day starts
fresh. A request of an entry that the vendor refuses (400 / 404 / 422, e.g. a creator whose
posts answer 404) costs only that request's rows: the entry keeps what its other requests
fetched (the creator's profile and follower snapshot), the refusal is listed in the run's
`failed_requests` metadata (an asset check warns), and the entry is not taken as done, so a
same-day re-run asks again. A 404 on an entry's first request is the thing not existing: an
empty slice. Failures that stop the run (auth, quota, the units budget, retries exhausted, a
malformed answer) still stop it after the complete entries. Child lists (`video_hashtags`
per post, `follows` per creator and relation) replace the parent's earlier ones; a list that
is now empty is sent as one tombstone row (`deleted`, dlt's `hard_delete` hint) that removes
the old rows and is never stored itself. Units are what the vendor's `units_charged` headers
say, every billed answer counted (one whose body was truncated and retried too).

Schema drift is noted per watch entry (a slice of the observation day's partition) against
the seed shape of each kind of item (`ItemShape`: a post, its statistics, its hashtags, a
user, a follower, a comment, a sound), on the table each field lands in: a field absent
from every item of the entry (the ingest asset keeps its stored values, per the table's
primary key), a field the seed lacks (named, then dropped: rows are built from fixed arrow
schemas), a value of another JSON type (kept when it still reads as the column's type, else
the entry stops the run). Every table's schema contract is `RAW_CONTRACT`.

Layout: `settings` (paths, prices, the HTTP profile, the watchlist section), `parsing` (items
into rows), `schemas` (tables, tombstones, seed shapes), `fetching` (the units budget, the report,
the cursor walks on `pipelines.paging`), `harvest` (the watch entries, on
`pipelines.snapshot`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import dlt
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource

from ..snapshot import TOMBSTONE, client_factory, observation, snapshot_resources
from .fetching import (
    MAX_FAILURES_LISTED,
    EnsembleDataReport,
    FailedRequest,
    Fetcher,
    Walk,
    _Unit,
    data_of,
    walk,
)
from .harvest import Harvest
from .parsing import (
    Observation,
    ParsedPost,
    parse_comment,
    parse_post,
    parse_user,
    parse_user_info,
)
from .schemas import KEYS, SCHEMAS, TABLES, ItemShape, ItemTally, tally_post, tombstone
from .settings import (
    DEFAULT_BASE_URL,
    DEFAULT_PRICE,
    FULL_SEARCH_MAX_POSTS,
    HASHTAG_POSTS,
    HASHTAG_RECENT_POSTS,
    KEYWORD_FULL_SEARCH,
    KEYWORD_SEARCH,
    KEYWORD_SORTING,
    MAX_FOLLOWERS,
    MAX_MULTI_IDS,
    MUSIC_DETAILS,
    MUSIC_POSTS,
    POST_COMMENTS,
    POST_INFO,
    POST_MULTI_INFO,
    POSTS_PER_PAGE,
    PRICES,
    PROFILE,
    USED_UNITS,
    USER_FOLLOWERS,
    USER_FOLLOWINGS,
    USER_INFO,
    USER_INFO_FROM_SECUID,
    USER_POSTS,
    USER_POSTS_FROM_SECUID,
    EnsembleDataWatch,
    HashtagFullSearch,
    KeywordWatch,
    Price,
    UserWatch,
    batches,
    keyword_params,
    validate_watch,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_PRICE",
    "FULL_SEARCH_MAX_POSTS",
    "HASHTAG_POSTS",
    "HASHTAG_RECENT_POSTS",
    "KEYS",
    "KEYWORD_FULL_SEARCH",
    "KEYWORD_SEARCH",
    "KEYWORD_SORTING",
    "MAX_FAILURES_LISTED",
    "MAX_FOLLOWERS",
    "MAX_MULTI_IDS",
    "MUSIC_DETAILS",
    "MUSIC_POSTS",
    "POSTS_PER_PAGE",
    "POST_COMMENTS",
    "POST_INFO",
    "POST_MULTI_INFO",
    "PRICES",
    "PROFILE",
    "SCHEMAS",
    "TABLES",
    "TOMBSTONE",
    "USED_UNITS",
    "USER_FOLLOWERS",
    "USER_FOLLOWINGS",
    "USER_INFO",
    "USER_INFO_FROM_SECUID",
    "USER_POSTS",
    "USER_POSTS_FROM_SECUID",
    "EnsembleDataReport",
    "EnsembleDataWatch",
    "FailedRequest",
    "Fetcher",
    "Harvest",
    "HashtagFullSearch",
    "ItemShape",
    "ItemTally",
    "KeywordWatch",
    "Observation",
    "ParsedPost",
    "Price",
    "UserWatch",
    "Walk",
    "_Unit",
    "batches",
    "data_of",
    "ensembledata_source",
    "keyword_params",
    "parse_comment",
    "parse_post",
    "parse_user",
    "parse_user_info",
    "tally_post",
    "tombstone",
    "validate_watch",
    "walk",
]


@dlt.source(name="ensembledata", max_table_nesting=0)
def ensembledata_source(
    watch: Any = None,
    observed_on: date | None = None,
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = 5.0,
    read_timeout: float = 30.0,
    max_attempts: int = 6,
    backoff_base: float = 0.5,
    report: EnsembleDataReport | None = None,
) -> list[DltResource]:
    """Today's EnsembleData snapshot of the watched hashtags, keywords, creators, posts, music.

    `watch` is an `EnsembleDataWatch` (or a dict of one), validated here before any request;
    `observed_on` keys the snapshot tables (default: today, UTC). Settings resolve from
    `SOURCES__ENSEMBLEDATA__*`. Call the report's `raise_if_stopped()` after loading: complete
    watch entries are loaded first; a reached units budget stops the run the same way.
    """
    run_report = report if report is not None else EnsembleDataReport()
    checked = validate_watch(watch)
    run_report.units_budget = checked.daily_units_budget
    day, observed_at = observation(observed_on)
    make_client = client_factory(
        PROFILE,
        base_url,
        api_key,
        run_report,
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        requests_per_second=requests_per_second,
    )
    harvest = Harvest(
        checked,
        Observation(day, observed_at),
        make_client,
        run_report,
        state=dlt.current.source_state,  # read while dlt extracts: saved with the rows
    )
    return snapshot_resources(harvest, run_report)
