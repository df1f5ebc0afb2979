"""Mosaicking: which catalog items make up each time sample, and first-valid-pixel compositing.

- SIMPLE: one sample made of every item, the first valid pixel in mosaicking order wins.
- ORBIT: one sample per acquisition day (UTC); the items of one day (e.g. the scenes of two UTM zones) are
  merged first-valid in mosaicking order. Samples are ordered by their first item in mosaicking order:
  mostRecent -> newest day first, leastRecent -> oldest first, leastCC -> least cloudy first.
- TILE: one sample per item, in mosaicking order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workers.catalog import CatalogItem

SIMPLE = "SIMPLE"
ORBIT = "ORBIT"
TILE = "TILE"


@dataclass(frozen=True)
class Sample:
    """One time sample: the items composited into it (in mosaicking order)."""

    items: tuple[CatalogItem, ...]

    @property
    def first(self) -> CatalogItem:
        """The item that wins where it has data."""
        return self.items[0]

    @property
    def cloud_cover(self) -> float | None:
        """Mean cloud cover of the items (None when unknown)."""
        known = [i.cloud_cover for i in self.items if i.cloud_cover is not None]
        return float(np.mean(known)) if known else None


def group_samples(items: Sequence[CatalogItem], mosaicking: str) -> list[Sample]:
    """The time samples of `items` (already in mosaicking order) for a mosaicking mode."""
    if mosaicking == SIMPLE:
        return [Sample(tuple(items))] if items else []
    if mosaicking == TILE:
        return [Sample((item,)) for item in items]
    if mosaicking != ORBIT:
        raise ValueError(f"unknown mosaicking {mosaicking!r}")
    by_day: dict[str, list[CatalogItem]] = {}
    for item in items:
        by_day.setdefault(item.day, []).append(item)
    return [Sample(tuple(day_items)) for day_items in by_day.values()]


class Compositor:
    """Fills pixels first-valid: each `add` sets only the pixels that no earlier layer set."""

    def __init__(self, bands: Sequence[str], size: int) -> None:
        self.values = {band: np.zeros(size, dtype=np.float32) for band in bands}
        self.filled = np.zeros(size, dtype=bool)

    def add(self, values: dict[str, np.ndarray], valid: np.ndarray) -> None:
        """Composite one layer (band -> (N,) values, (N,) validity)."""
        take = valid & ~self.filled
        if not take.any():
            return
        for band, target in self.values.items():
            target[take] = values[band][take]
        self.filled |= take

    @property
    def complete(self) -> bool:
        """Whether every pixel has a value (later layers cannot change anything)."""
        return bool(self.filled.all())
