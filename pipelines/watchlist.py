"""The watchlist: what the warehouse tracks, in one validated file.

Analysts edit `watchlist.yaml` (or the file named by `WATCHLIST_PATH`); a typo must
fail the run before any request, naming the key, not silently track nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from .config import StrictModel, problems
from .ensembledata import EnsembleDataWatch
from .errors import ConfigError
from .influtics import InfluticsWatch
from .tiktok_research import ResearchWatch
from .trendtrack import TrendtrackWatch

DEFAULT_WATCHLIST_PATH = "watchlist.yaml"


class KeyApiWatch(StrictModel):
    """Which KeyAPI rankings to pull."""

    regions: tuple[str, ...] = ("US", "GB")
    rank_fields: tuple[Literal["views", "sales"], ...] = ("views", "sales")
    product_category_ids: tuple[str, ...] = ()
    pages: int = Field(default=5, ge=1, le=1000)
    created_by_ai: bool | None = None

    @field_validator("regions")
    @classmethod
    def _region_codes(cls, regions: tuple[str, ...]) -> tuple[str, ...]:
        bad = [r for r in regions if len(r) != 2 or not r.isalpha() or not r.isupper()]
        if bad:
            raise ValueError(f"regions must be two-letter upper-case codes, got {bad}")
        if not regions:
            raise ValueError("at least one region is required")
        return regions

    @field_validator("product_category_ids")
    @classmethod
    def _category_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in ids if not c.isdigit()]
        if bad:
            raise ValueError(f"product category ids are numeric strings, got {bad}")
        return ids


class Watchlist(StrictModel):
    keyapi: KeyApiWatch = KeyApiWatch()
    influtics: InfluticsWatch = InfluticsWatch()
    trendtrack: TrendtrackWatch = TrendtrackWatch()
    ensembledata: EnsembleDataWatch = EnsembleDataWatch()
    tiktok_research: ResearchWatch = ResearchWatch()


def watchlist_path() -> Path:
    return Path(os.environ.get("WATCHLIST_PATH", DEFAULT_WATCHLIST_PATH))


def load_watchlist(path: str | Path | None = None) -> Watchlist:
    """Read and validate the watchlist; every problem is reported with its key path."""
    file = Path(path) if path is not None else watchlist_path()
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"watchlist file {file} does not exist (set WATCHLIST_PATH)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"watchlist file {file} is not valid YAML: {exc}") from None
    try:
        return Watchlist.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"watchlist file {file} is invalid: {problems(exc)}") from None
