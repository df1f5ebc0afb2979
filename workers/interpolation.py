"""Temporal interpolation (extension `processing.temporalInterpolation`): valid samples of each pixel
resampled onto a regular date grid, vectorised over pixels (see docs/temporal-interpolation.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from workers.errors import InvalidRequestError

FIELD = "temporalInterpolation"
METHODS = ("linear", "nearest")
_STEP = re.compile(r"^P(\d+)D$")


@dataclass(frozen=True)
class InterpolationSpec:
    """A regular grid of `step_days` days starting at the time range start; `method` linear or nearest."""

    step_days: int
    method: str = "linear"

    @classmethod
    def from_processing(cls, processing: dict[str, Any] | None) -> InterpolationSpec | None:
        """Parse `processing.temporalInterpolation` ({"step": "P5D", "method": "linear"}); None when absent."""
        value = (processing or {}).get(FIELD)
        if not value:
            return None
        match = _STEP.match(str(value.get("step", "")))
        if not match or int(match.group(1)) < 1:
            raise InvalidRequestError(f"processing.{FIELD}.step must look like 'P5D', got {value.get('step')!r}")
        method = value.get("method", "linear")
        if method not in METHODS:
            raise InvalidRequestError(f"processing.{FIELD}.method must be one of {', '.join(METHODS)}")
        return cls(int(match.group(1)), method)

    def targets(self, time_from: datetime, time_to: datetime) -> list[datetime]:
        """Grid dates from `time_from` to `time_to` (inclusive), oldest first."""
        step = timedelta(days=self.step_days)
        dates, current = [], time_from
        while current <= time_to:
            dates.append(current)
            current += step
        return dates


def interpolate(
    values: dict[str, np.ndarray],
    valid: np.ndarray,
    dates: np.ndarray,
    targets: np.ndarray,
    method: str = "linear",
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Resample (T, N) `values` whose pixels are usable where `valid` (T, N) from `dates` (T,) onto `targets`
    (K,) (both float days, any order). A target gets a value where a valid sample lies on each side (linear),
    or anywhere a valid sample exists (nearest); elsewhere it is invalid with value 0.
    Returns (band -> (K, N) float32, (K, N) validity)."""
    order = np.argsort(dates, kind="stable")
    t = np.asarray(dates, dtype=np.float64)[order]
    ok = np.asarray(valid, dtype=bool)[order]
    n_t, n_px = ok.shape
    k = len(targets)
    if n_t == 0:
        return {b: np.zeros((k, n_px), np.float32) for b in values}, np.zeros((k, n_px), bool)
    index = np.arange(n_t)[:, None]
    last_valid = np.maximum.accumulate(np.where(ok, index, -1), axis=0)  # latest valid at or before row
    next_valid = np.minimum.accumulate(np.where(ok, index, n_t)[::-1], axis=0)[::-1]  # earliest at/after
    tq = np.asarray(targets, dtype=np.float64)
    before_row = np.searchsorted(t, tq, side="right") - 1  # last row with date <= target
    after_row = np.searchsorted(t, tq, side="left")  # first row with date >= target
    prev = np.where(before_row[:, None] >= 0, last_valid[np.clip(before_row, 0, None)], -1)
    nxt = np.where(after_row[:, None] < n_t, next_valid[np.clip(after_row, None, n_t - 1)], n_t)
    has_prev, has_next = prev >= 0, nxt < n_t
    prev_i, next_i = np.clip(prev, 0, n_t - 1), np.clip(nxt, 0, n_t - 1)
    t_prev, t_next = t[prev_i], t[next_i]
    if method == "nearest":
        use_next = has_next & (~has_prev | (t_next - tq[:, None] < tq[:, None] - t_prev))
        pick = np.where(use_next, next_i, prev_i)
        result_valid = has_prev | has_next
        cols = np.arange(n_px)[None, :]
        out = {b: np.where(result_valid, np.asarray(v)[order][pick, cols], 0).astype(np.float32)
               for b, v in values.items()}
        return out, result_valid
    result_valid = has_prev & has_next
    span = t_next - t_prev
    weight = np.divide(tq[:, None] - t_prev, span, out=np.zeros_like(span), where=span > 0)
    cols = np.arange(n_px)[None, :]
    out = {}
    for band, v in values.items():
        sorted_v = np.asarray(v, dtype=np.float64)[order]
        lo, hi = sorted_v[prev_i, cols], sorted_v[next_i, cols]
        out[band] = np.where(result_valid, lo + weight * (hi - lo), 0).astype(np.float32)
    return out, result_valid


def to_days(moments: list[datetime]) -> np.ndarray:
    """Datetimes as float days since the epoch (for `interpolate`)."""
    return np.array([m.timestamp() / 86400.0 for m in moments], dtype=np.float64)
