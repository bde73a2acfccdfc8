"""The one synthetic TikTok world that every vendor simulator serves.

Everything derives from a single integer seed through `random.Random` instances seeded with
strings such as "42:videos:2025-06-30:US" (never `hash()`, which is salted per process), so two
processes with the same seed agree on every id, name and count. Fixed entities (regions,
categories, hashtags, products, music, creators) are built up front; videos are generated lazily
per (publish day, region) and cached, so any date works without holding the whole world.
Metrics are pure functions of a video and a UTC instant: there is no wall clock in here.

Video ids follow TikTok's own scheme: the top 32 bits are the publish time in epoch seconds
(`video_id >> 32 == create_time`, which holds for the KeyAPI seed's example too), so ids are
19-digit integers between ~7.3e18 (2024) and ~8.0e18 (2028), far above 2**53.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Literal, NamedTuple, TypeVar

DEFAULT_SEED = 42

# Mean number of videos published per UTC day, per region (each day varies by +-15 %).
DAILY_VIDEOS: dict[str, int] = {
    "US": 90,
    "GB": 50,
    "DE": 45,
    "FR": 45,
    "ID": 70,
    "BR": 60,
    "JP": 45,
}
REGIONS: tuple[str, ...] = tuple(DAILY_VIDEOS)
CREATORS_PER_REGION = 250
PRODUCTS_PER_CATEGORY = 50
MUSIC_TRACKS = 400
# No video grows for longer than this, so a period's ranking only looks this far back.
MAX_LIFETIME_DAYS = 30

_DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

# First-level TikTok Shop categories: (id, name, price range in cents).
_CATEGORIES: tuple[tuple[str, str, int, int], ...] = (
    ("601450", "Beauty & Personal Care", 500, 6_000),
    ("601152", "Womenswear & Underwear", 800, 8_000),
    ("824328", "Menswear & Underwear", 1_000, 9_000),
    ("601739", "Phones & Electronics", 1_000, 50_000),
    ("600001", "Home Supplies", 300, 5_000),
    ("600024", "Kitchenware", 500, 8_000),
    ("700437", "Food & Beverages", 200, 3_000),
    ("700645", "Health", 500, 6_000),
    ("602118", "Pet Supplies", 300, 5_000),
    ("603014", "Sports & Outdoor", 1_000, 15_000),
    ("604206", "Toys & Hobbies", 500, 6_000),
)

# Creator category -> (its hashtags, the product categories it mostly sells).
_CREATOR_CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Beauty": (("skincare", "makeup", "grwm", "beautytok", "skincareroutine"), ("601450",)),
    "Fashion": (("ootd", "fashiontok", "outfitinspo", "haul"), ("601152", "824328")),
    "Tech": (("techtok", "gadgets", "unboxing", "setup"), ("601739",)),
    "Home": (("cleantok", "homedecor", "organization", "kitchenhacks"), ("600001", "600024")),
    "Food": (("foodtok", "recipe", "easyrecipe", "asmrfood"), ("700437", "600024")),
    "Fitness": (("gymtok", "workout", "fitnesstips"), ("603014", "700645")),
    "Pets": (("dogsoftiktok", "catsoftiktok", "pettok"), ("602118",)),
    "Gaming": (("gaming", "gamingsetup", "speedrun"), ("604206", "601739")),
    "Comedy": (("comedy", "funny", "skit", "pov"), ()),
    "Other": (("dayinmylife", "storytime", "lifehack"), ()),
}
_GENERAL_TAGS = ("fyp", "foryou", "foryoupage", "viral", "trending", "fypシ")
_SHOP_TAGS = ("ttshopfinds", "tiktokmademebuyit", "tiktokshop", "dealsforyoudays")
_REGION_TAGS: dict[str, tuple[str, ...]] = {
    "US": ("usa",),
    "GB": ("uk", "uktiktok"),
    "DE": ("fürdich", "deutschland"),
    "FR": ("pourtoi", "france"),
    "ID": ("racuntiktok", "fypindonesia"),
    "BR": ("paravoce", "brasil"),
    "JP": ("おすすめ", "バズれ"),
}

_NAMES: dict[str, tuple[str, ...]] = {
    "US": ("julio", "emma", "olivia", "liam", "noah", "ava", "mason", "chloe", "jake", "maya"),
    "GB": ("oliver", "amelia", "harry", "isla", "george", "poppy", "alfie", "freya"),
    "DE": ("lena", "jonas", "mia", "felix", "hannah", "lukas", "emilia", "paul"),
    "FR": ("lea", "hugo", "manon", "louis", "jules", "camille", "ines", "theo"),
    "ID": ("putri", "dewi", "rizky", "ayu", "bayu", "sari", "fajar", "nabila"),
    "BR": ("ana", "joao", "lucas", "bia", "gabi", "rafa", "duda", "pedro"),
    "JP": ("yui", "sakura", "haruto", "ren", "aoi", "hina", "sota", "mei"),
}
# Display names that are not plain Latin: the cases that break naive clients.
_REGION_NICKNAMES: dict[str, tuple[str, ...]] = {
    "DE": ("Jönas Müller", "Lena 🌸", "Straße&Stil"),
    "FR": ("Léa ✨", "Chloé💄", "Hugo ⚽️"),
    "ID": ("Putri ✨", "Dewi🌺", "Rizky 🇮🇩"),
    "BR": ("João 🇧🇷", "Ana Clara💖", "Bia ☀️"),
    "JP": ("ﾌひﾚﾉの", "さくら🌸", "ゆいちゃん", "たけし", "レン⭐"),
    # Confusable "fancy font" letters are the point here, hence the noqa.
    "US": ("mia ✨", "Jake 🏀", "𝓜𝓪𝔂𝓪"),  # noqa: RUF001
    "GB": ("Poppy 🫖", "Harry 🇬🇧", "𝔽𝕣𝕖𝕪𝕒"),  # noqa: RUF001
}
_GLOBAL_NICKNAMES = (
    "نور",
    "سارة ✨",
    "דנה",
    "지민",
    "Саша",
    "👩‍🍳 chef ana",
    "ℒ𝒾𝓁𝓎",  # noqa: RUF001 (confusable letters on purpose)
    "Zoë",
    "🦋",
    "María José",
)

_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "W huzz magnet",
        "you need this in your life",
        "POV: you finally found it",
        "this changed my routine",
        "wait for the end",
        "honest review",
        "day 3 of trying this",
        "tell me I'm wrong",
        "restock alert",
        "this is your sign",
    ),
    "de": (
        "Das musst du sehen",
        "ehrliche Meinung",
        "mein neues Lieblingsteil",
        "warte bis zum Ende",
        "Tag 3 mit diesem Produkt",
    ),
    "fr": (
        "regardez jusqu'à la fin",
        "mon avis honnête",
        "je suis choquée",
        "le meilleur achat de l'année",
        "petite routine du matin",
    ),
    "id": (
        "racun banget",
        "wajib punya",
        "review jujur",
        "tunggu sampai akhir",
        "murah tapi bagus",
    ),
    "pt": (
        "vocês pediram",
        "melhor compra do ano",
        "minha opinião sincera",
        "espera até o final",
        "não acredito nisso",
    ),
    "ja": (
        "これは買ってよかった",
        "最後まで見てね",
        "正直レビュー",
        "毎日のルーティン",
        "バズってたやつ試してみた",
    ),
    # Right-to-left scripts (Arabic, Hebrew) and a couple of others, posted from any region.
    "world": (
        "وصفة سريعة وسهلة",
        "جربت هذا المنتج",
        "שגרת בוקר שלי",
        "لا تفوتوا النهاية",
        "오늘의 추천템",
        "no puedo creerlo",
    ),
}
_REGION_LANGUAGE = {
    "US": "en",
    "GB": "en",
    "DE": "de",
    "FR": "fr",
    "ID": "id",
    "BR": "pt",
    "JP": "ja",
}
_EMOJI = ("🧲", "✨", "🔥", "😭", "💅", "🛒", "💯", "🤯", "🙌", "❤️", "👀", "😂", "👩‍🍳")
_SONG_WORDS = (
    ("Midnight", "Golden", "Neon", "Lazy", "Electric", "Paper", "Velvet", "Summer"),
    ("Echo", "Drive", "Heart", "Skyline", "Bounce", "Dream", "Signal", "Parade"),
)
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

_T = TypeVar("_T")
Shape = Literal["viral", "steady", "decaying"]
_SHAPES: tuple[Shape, ...] = ("viral", "steady", "decaying")
_SHAPE_WEIGHTS = (0.15, 0.45, 0.40)


@dataclass(frozen=True, slots=True)
class Category:
    """A first-level TikTok Shop product category (ids are strings, as vendors send them)."""

    category_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Creator:
    """A TikTok account; `user_id` is 64-bit, `unique_id` is the @handle."""

    user_id: int
    unique_id: str
    sec_uid: str
    nickname: str
    category: str
    region: str
    followers: int


@dataclass(frozen=True, slots=True)
class Product:
    """A TikTok Shop product a video can link to."""

    product_id: int
    category: Category
    price_cents: int


@dataclass(frozen=True, slots=True)
class Music:
    """A sound; many videos share the popular ones, which is what music trends are made of."""

    music_id: int
    title: str
    author: str


class Metrics(NamedTuple):
    """Cumulative counts at an instant, or (as a difference) counts gained within a period."""

    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    favorites: int = 0
    sales_units: int = 0
    gmv: int = 0

    def __sub__(self, other: tuple[int, ...]) -> Metrics:
        return Metrics._make(a - b for a, b in zip(self, other, strict=True))


ZERO = Metrics()


@dataclass(frozen=True, slots=True)
class Curve:
    """Share of a video's final counts reached `age` seconds after publish, from 0 to 1.

    `k` and `mid` shape it: viral = steepness and midpoint (as a share of the lifetime) of an
    S-curve after a slow start; steady = exponent of a near-linear power; decaying = rate of
    an exponential approach (most of it in the first days).
    """

    shape: Shape
    lifetime: int
    k: float
    mid: float = 0.0

    def fraction(self, age: float) -> float:
        if age <= 0:
            return 0.0
        if age >= self.lifetime:
            return 1.0
        u = age / self.lifetime
        if self.shape == "steady":
            share = u**self.k
        elif self.shape == "decaying":
            share = -math.expm1(-self.k * u) / -math.expm1(-self.k)
        else:
            low, high = self._sigmoid(0.0), self._sigmoid(1.0)
            share = 0.05 * u + 0.95 * (self._sigmoid(u) - low) / (high - low)
        return min(share, 1.0)

    def _sigmoid(self, u: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.k * (u - self.mid)))


@dataclass(frozen=True, slots=True)
class Video:
    """One TikTok video with everything any vendor reports about it."""

    video_id: int
    creator: Creator
    region: str
    create_time: int  # epoch seconds, UTC; equals video_id >> 32
    duration: int  # seconds
    description: str
    hashtags: tuple[str, ...]
    music: Music
    sales_flag: int  # 0 no sales, 1 video sales, 2 live-streaming sales
    products: tuple[Product, ...]
    created_by_ai: bool
    curve: Curve
    final: Metrics  # counts once the curve reaches 1

    @property
    def categories(self) -> tuple[Category, ...]:
        """Distinct categories of the linked products, in product order."""
        return tuple(dict.fromkeys(p.category for p in self.products))


class RankedVideo(NamedTuple):
    """A video and what it gained within the ranked period."""

    video: Video
    metrics: Metrics


def epoch_seconds(ts: datetime) -> float:
    """UTC epoch seconds of an aware datetime; naive ones are refused, not guessed."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: pass an aware UTC instant")
    return ts.timestamp()


def day_start(day: date) -> int:
    """Epoch seconds of 00:00 UTC on `day`."""
    return (day.toordinal() - _EPOCH_ORDINAL) * _DAY


def metrics_at(video: Video, ts: datetime) -> Metrics:
    """Cumulative counts at instant `ts`: zero before publish, monotone non-decreasing."""
    return _metrics_at(video, epoch_seconds(ts))


def period_metrics(video: Video, start: datetime, end: datetime) -> Metrics:
    """Counts gained in [start, end)."""
    return metrics_at(video, end) - metrics_at(video, start)


def _metrics_at(video: Video, t: float) -> Metrics:
    share = video.curve.fraction(t - video.create_time)
    if share <= 0.0:
        return ZERO
    return Metrics._make(int(total * share) for total in video.final)


class World:
    """Every entity of one seeded world; videos and rankings are computed on demand, cached."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.seed = seed
        self.regions = REGIONS
        self.categories = tuple(Category(cid, name) for cid, name, _, _ in _CATEGORIES)
        self.hashtags: tuple[str, ...] = tuple(
            dict.fromkeys(
                [*_GENERAL_TAGS, *_SHOP_TAGS]
                + [tag for tags, _ in _CREATOR_CATEGORIES.values() for tag in tags]
                + [tag for tags in _REGION_TAGS.values() for tag in tags]
            )
        )
        self.products = self._make_products()
        self.creators = self._make_creators()
        self.music = self._make_music()
        self._products_by_category = {
            c.category_id: tuple(p for p in self.products if p.category == c)
            for c in self.categories
        }
        self._creators_by_handle = {
            key: c for c in self.creators for key in (c.unique_id, c.sec_uid)
        }
        self._creators_by_region = {
            r: tuple(c for c in self.creators if c.region == r) for r in self.regions
        }
        # Posting activity is skewed: a few creators post most of a region's videos.
        activity = self._rng("activity")
        self._creator_weights = {
            r: list(accumulate(activity.paretovariate(1.5) for _ in creators))
            for r, creators in self._creators_by_region.items()
        }
        self._music_weights = list(accumulate(1 / (i + 1) ** 0.8 for i in range(MUSIC_TRACKS)))
        self._day_videos: Callable[[date, str], tuple[Video, ...]] = lru_cache(maxsize=1024)(
            self._generate_videos
        )
        self._rankings: Callable[..., tuple[RankedVideo, ...]] = lru_cache(maxsize=256)(self._rank)

    # -- public queries ---------------------------------------------------------------------

    def category(self, category_id: str) -> Category | None:
        """The first-level category with this id, or None for an unknown id."""
        return next((c for c in self.categories if c.category_id == category_id), None)

    def videos_published_on(self, day: date, region: str | None = None) -> tuple[Video, ...]:
        """Videos published on UTC `day` (in one region, or all), ordered by publish time."""
        if region is not None:
            return self._day_videos(day, self._check_region(region))
        every = [v for r in self.regions for v in self._day_videos(day, r)]
        return tuple(sorted(every, key=lambda v: (v.create_time, v.video_id)))

    def video(self, video_id: int) -> Video | None:
        """Look a video up by id alone: its id encodes its publish second and its region."""
        region_index = video_id & 0x1F
        if not 0 < video_id < 2**63 or region_index >= len(self.regions):
            return None
        day = date.fromordinal(_EPOCH_ORDINAL + (video_id >> 32) // _DAY)
        return next(
            (
                v
                for v in self._day_videos(day, self.regions[region_index])
                if v.video_id == video_id
            ),
            None,
        )

    def creator(self, handle_or_sec_uid: str) -> Creator | None:
        """A creator by @handle (`unique_id`) or `sec_uid`, as vendors look them up."""
        return self._creators_by_handle.get(handle_or_sec_uid)

    def videos_between(
        self, start: date, end: date, region: str | None = None
    ) -> tuple[Video, ...]:
        """Videos published on UTC days in [start, end), oldest first: what queries scan."""
        days = (date.fromordinal(n) for n in range(start.toordinal(), end.toordinal()))
        return tuple(v for day in days for v in self.videos_published_on(day, region))

    def ranking(
        self,
        region: str,
        start: date,
        end: date,
        metric: str,
        category_id: str | None = None,
        created_by_ai: bool | None = None,
    ) -> tuple[RankedVideo, ...]:
        """Videos of `region` that gained `metric` in [start, end) UTC, best first.

        Sorted by the gain descending, then video_id; optionally only videos linking a product
        of `category_id` or with the given `created_by_ai`. Cached: a repeated call is a dict hit.
        """
        if metric not in Metrics._fields:
            raise ValueError(f"unknown metric {metric!r}; one of {Metrics._fields}")
        return self._rankings(
            self._check_region(region), start, end, metric, category_id, created_by_ai
        )

    # -- generation -------------------------------------------------------------------------

    def _rng(self, *key: object) -> random.Random:
        """A generator for one named part of the world; str seeds are hashed with SHA-512."""
        return random.Random(":".join(str(k) for k in (self.seed, *key)))

    def _check_region(self, region: str) -> str:
        if region not in DAILY_VIDEOS:
            raise ValueError(f"unknown region {region!r}; one of {self.regions}")
        return region

    def _make_products(self) -> tuple[Product, ...]:
        rng = self._rng("products")
        seen: set[int] = set()
        products = []
        for (_, _, low, high), category in zip(_CATEGORIES, self.categories, strict=True):
            for _ in range(PRODUCTS_PER_CATEGORY):
                product_id = _unique(
                    seen, lambda: rng.randrange(1_729_000_000_000_000_000, 1_733 * 10**15)
                )
                products.append(Product(product_id, category, rng.randrange(low, high, 10) - 1))
        return tuple(products)

    def _make_creators(self) -> tuple[Creator, ...]:
        rng = self._rng("creators")
        ids: set[int] = set()
        handles: set[str] = set()
        since, until = day_start(date(2016, 1, 1)), day_start(date(2024, 1, 1))
        creators = []
        for region in self.regions:
            for _ in range(CREATORS_PER_REGION):
                name = rng.choice(_NAMES[region])
                handle = _unique(handles, lambda name=name: _handle(rng, name))
                roll = rng.random()
                if roll < 0.35:
                    nickname = rng.choice(_REGION_NICKNAMES[region])
                elif roll < 0.5:
                    nickname = rng.choice(_GLOBAL_NICKNAMES)
                else:
                    nickname = name.capitalize() + rng.choice(("", "", " ✨", " 🔥", ".", " x"))
                creators.append(
                    Creator(
                        user_id=_unique(
                            ids, lambda: (rng.randrange(since, until) << 32) | rng.getrandbits(32)
                        ),
                        unique_id=handle,
                        sec_uid="MS4wLjABAAAA" + "".join(rng.choices(_B64URL, k=64)),
                        nickname=nickname,
                        category=rng.choice(tuple(_CREATOR_CATEGORIES)),
                        region=region,
                        followers=max(100, int(rng.lognormvariate(math.log(40_000), 1.6))),
                    )
                )
        return tuple(creators)

    def _make_music(self) -> tuple[Music, ...]:
        rng = self._rng("music")
        ids: set[int] = set()
        since, until = day_start(date(2019, 1, 1)), day_start(date(2024, 1, 1))
        tracks = []
        for _ in range(MUSIC_TRACKS):
            music_id = _unique(
                ids, lambda: (rng.randrange(since, until) << 32) | rng.getrandbits(32)
            )
            if rng.random() < 0.35:
                author = rng.choice(self.creators)
                title, artist = f"original sound - {author.unique_id}", author.nickname
            else:
                title = f"{rng.choice(_SONG_WORDS[0])} {rng.choice(_SONG_WORDS[1])}"
                artist = f"{rng.choice(_SONG_WORDS[0])} {rng.choice(('Kids', 'Club', 'Room'))}"
            tracks.append(Music(music_id, title, artist))
        return tuple(tracks)

    def _generate_videos(self, day: date, region: str) -> tuple[Video, ...]:
        rng = self._rng("videos", day.isoformat(), region)
        start = day_start(day)
        region_index = self.regions.index(region)
        count = round(DAILY_VIDEOS[region] * rng.uniform(0.85, 1.15))
        ids: set[int] = set()
        videos = []
        for _ in range(count):
            create_time = start + rng.randrange(_DAY)
            video_id = _unique(
                ids, lambda t=create_time: (t << 32) | (rng.getrandbits(27) << 5) | region_index
            )
            videos.append(self._make_video(rng, video_id, create_time, region))
        videos.sort(key=lambda v: (v.create_time, v.video_id))
        return tuple(videos)

    def _make_video(
        self, rng: random.Random, video_id: int, create_time: int, region: str
    ) -> Video:
        creator = rng.choices(
            self._creators_by_region[region], cum_weights=self._creator_weights[region]
        )[0]
        shape = rng.choices(_SHAPES, weights=_SHAPE_WEIGHTS)[0]
        if shape == "viral":
            curve = Curve(
                shape,
                rng.randint(14, MAX_LIFETIME_DAYS) * _DAY,
                k=rng.uniform(12, 25),
                mid=rng.uniform(0.2, 0.6),
            )
            reach = rng.uniform(3, 15)
        elif shape == "steady":
            curve = Curve(
                shape, rng.randint(18, MAX_LIFETIME_DAYS) * _DAY, k=rng.uniform(0.85, 1.15)
            )
            reach = 1.0
        else:
            curve = Curve(shape, rng.randint(4, 12) * _DAY, k=rng.uniform(3, 7))
            reach = 1.5
        views = max(50, int(creator.followers * rng.lognormvariate(-1.0, 1.0) * reach))

        tag_pool, product_categories = _CREATOR_CATEGORIES[creator.category]
        sales_flag = rng.choices((0, 1, 2), weights=(0.55, 0.35, 0.10))[0]
        products: tuple[Product, ...] = ()
        units = gmv = 0
        if sales_flag:
            first = rng.choice(product_categories or tuple(self._products_by_category))
            picks = [rng.choice(self._products_by_category[first])]
            picks += rng.sample(self.products, rng.choice((0, 0, 1, 2)))
            products = tuple(dict.fromkeys(picks))
            units = int(views * rng.uniform(0.0005, 0.01) * (3 if sales_flag == 2 else 1))
            gmv = units * sum(p.price_cents for p in products) // len(products) // 100

        tags = [rng.choices(_GENERAL_TAGS, weights=(8, 3, 3, 2, 2, 1))[0]]
        tags += rng.sample(tag_pool, rng.randint(1, min(3, len(tag_pool))))
        if sales_flag:
            tags.append(rng.choice(_SHOP_TAGS))
        if rng.random() < 0.4:
            tags.append(rng.choice(_REGION_TAGS[region]))
        hashtags = tuple(dict.fromkeys(tags))

        return Video(
            video_id=video_id,
            creator=creator,
            region=region,
            create_time=create_time,
            duration=min(600, 5 + int(rng.expovariate(1 / 30))),
            description=_description(rng, region, hashtags),
            hashtags=hashtags,
            music=rng.choices(self.music, cum_weights=self._music_weights)[0],
            sales_flag=sales_flag,
            products=products,
            created_by_ai=rng.random() < 0.08,
            curve=curve,
            final=Metrics(
                views=views,
                likes=int(views * rng.uniform(0.03, 0.12)),
                comments=int(views * rng.uniform(0.001, 0.01)),
                shares=int(views * rng.uniform(0.0005, 0.008)),
                favorites=int(views * rng.uniform(0.003, 0.03)),
                sales_units=units,
                gmv=gmv,
            ),
        )

    def _rank(
        self,
        region: str,
        start: date,
        end: date,
        metric: str,
        category_id: str | None,
        created_by_ai: bool | None,
    ) -> tuple[RankedVideo, ...]:
        if category_id is not None or created_by_ai is not None:
            return tuple(
                r
                for r in self._rankings(region, start, end, metric, None, None)
                if (
                    category_id is None
                    or any(c.category_id == category_id for c in r.video.categories)
                )
                and (created_by_ai is None or r.video.created_by_ai == created_by_ai)
            )
        index = Metrics._fields.index(metric)
        t0, t1 = day_start(start), day_start(end)
        ranked = []
        day = start - timedelta(days=MAX_LIFETIME_DAYS)
        while day < end:
            for video in self._day_videos(day, region):
                gained = _metrics_at(video, t1) - _metrics_at(video, t0)
                if gained[index] > 0:
                    ranked.append(RankedVideo(video, gained))
            day += timedelta(days=1)
        ranked.sort(key=lambda r: (-r.metrics[index], r.video.video_id))
        return tuple(ranked)


def _unique(seen: set[_T], draw: Callable[[], _T]) -> _T:
    """Draw until the value is new; keeps ids unique without changing the common case."""
    value = draw()
    while value in seen:
        value = draw()
    seen.add(value)
    return value


def _handle(rng: random.Random, name: str) -> str:
    prefix = rng.choice(("", "", "iam", "its", "the", "real"))
    suffix = rng.choice(("", str(rng.randint(1, 999)), "_", ".official", "tv", "cr", "xo"))
    return f"{prefix}{name}{suffix}"


def _description(rng: random.Random, region: str, hashtags: tuple[str, ...]) -> str:
    """Caption text: local language, sometimes emoji or RTL script, rarely a NUL byte."""
    language = "world" if rng.random() < 0.1 else _REGION_LANGUAGE[region]
    text = rng.choice(_PHRASES[language])
    if rng.random() < 0.6:
        text += " " + rng.choice(_EMOJI)
    if rng.random() < 0.003:
        text = text[:1] + "\x00" + text[1:]
    text += " " + " ".join(f"#{tag}" for tag in hashtags)
    return text + (" " if rng.random() < 0.5 else "")
