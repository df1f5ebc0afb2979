"""Temporal interpolation against a per-pixel numpy reference."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from workers.errors import InvalidRequestError
from workers.interpolation import InterpolationSpec, interpolate


def reference_linear(values, valid, dates, targets):
    out = np.zeros((len(targets), values.shape[1]), np.float32)
    ok = np.zeros((len(targets), values.shape[1]), bool)
    order = np.argsort(dates)
    for px in range(values.shape[1]):
        d = dates[order][valid[order, px]]
        v = values[order, px][valid[order, px]]
        for k, t in enumerate(targets):
            if len(d) and d[0] <= t <= d[-1]:
                out[k, px] = np.interp(t, d, v)
                ok[k, px] = True
    return out, ok


def reference_nearest(values, valid, dates, targets):
    out = np.zeros((len(targets), values.shape[1]), np.float32)
    ok = np.zeros((len(targets), values.shape[1]), bool)
    for px in range(values.shape[1]):
        idx = np.flatnonzero(valid[:, px])
        for k, t in enumerate(targets):
            if len(idx):
                distance = np.abs(dates[idx] - t)
                # ties go to the earlier sample
                best = idx[np.lexsort((dates[idx], distance))[0]]
                out[k, px] = values[best, px]
                ok[k, px] = True
    return out, ok


@pytest.fixture
def series():
    rng = np.random.default_rng(7)
    dates = np.array([20.0, 3.0, 11.0, 7.5, 16.0])  # unordered, like mostRecent-first input
    values = rng.random((5, 300)).astype(np.float32)
    valid = rng.random((5, 300)) > 0.35
    targets = np.arange(0.0, 25.0, 2.5)
    return values, valid, dates, targets


def test_linear_matches_reference(series):
    values, valid, dates, targets = series
    got, ok = interpolate({"B04": values}, valid, dates, targets, "linear")
    want, want_ok = reference_linear(values, valid, dates, targets)
    np.testing.assert_array_equal(ok, want_ok)
    np.testing.assert_allclose(got["B04"], want, rtol=1e-6, atol=1e-7)


def test_nearest_matches_reference(series):
    values, valid, dates, targets = series
    got, ok = interpolate({"B04": values}, valid, dates, targets, "nearest")
    want, want_ok = reference_nearest(values, valid, dates, targets)
    np.testing.assert_array_equal(ok, want_ok)
    np.testing.assert_array_equal(got["B04"], want)


def test_no_samples_gives_invalid_grid():
    got, ok = interpolate({"B04": np.zeros((0, 4))}, np.zeros((0, 4), bool), np.zeros(0), np.arange(3.0))
    assert got["B04"].shape == (3, 4) and not ok.any()


def test_spec_parsing_and_targets():
    spec = InterpolationSpec.from_processing({"temporalInterpolation": {"step": "P5D"}})
    assert spec == InterpolationSpec(5, "linear")
    start = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    targets = spec.targets(start, start + dt.timedelta(days=12, hours=23))
    assert [t.day for t in targets] == [1, 6, 11]
    assert InterpolationSpec.from_processing({}) is None
    with pytest.raises(InvalidRequestError):
        InterpolationSpec.from_processing({"temporalInterpolation": {"step": "5 days"}})
    with pytest.raises(InvalidRequestError):
        InterpolationSpec.from_processing({"temporalInterpolation": {"step": "P5D", "method": "cubic"}})
