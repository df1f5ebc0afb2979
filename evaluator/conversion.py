"""Conversion of raw evaluatePixel values to output sample types (spec §3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .specs import SAMPLE_TYPE_DTYPES

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "UINT8": (0, 255),
    "INT8": (-128, 127),
    "UINT16": (0, 65535),
    "INT16": (-32768, 32767),
}
AUTO_SCALE = 255.0
AUTO_RANGE = (0, 255)


@dataclass(frozen=True)
class OutputStorage:
    """How the JS driver stores one output's raw values before Python reads them.

    FLOAT32 outputs are stored in a Float32Array (the store is the cast, rounding to nearest even
    like numpy); every other type in a Float64Array, converted by :func:`convert_in_place`. (A
    Uint8ClampedArray would do the AUTO/UINT8 rounding on store, but V8 stores into it ~10x slower
    than into a Float64Array: measured 38 ms vs 3 ms per million RGB pixels.)
    """

    js_type: str
    dtype: np.dtype

    @property
    def final(self) -> bool:
        """True when the stored values already are the converted output."""
        return self.js_type == "float32"


def output_storage(sample_type: str) -> OutputStorage:
    """The storage the JS side uses for an output of ``sample_type``."""
    if sample_type == "FLOAT32":
        return OutputStorage("float32", np.dtype(np.float32))
    return OutputStorage("float64", np.dtype(np.float64))


def convert_values(values: np.ndarray, sample_type: str, out: np.ndarray | None = None) -> np.ndarray:
    """Convert raw script values (any real array) to the numpy dtype of ``sample_type``.

    AUTO: ``clip(rint(v * 255), 0, 255)`` as uint8; integer types: ``clip(rint(v), lo, hi)``;
    FLOAT32: a cast. NaN (JS NaN/null/undefined) stays NaN in FLOAT32 and becomes 0 elsewhere.
    Rounding is numpy's ``rint`` (ties to even), like the conformance references. ``values`` is
    left unchanged; when ``out`` is given the result is written into it and returned.
    """
    scratch = np.array(values, dtype=np.float64, copy=True)
    return convert_in_place(scratch, sample_type, out)


def convert_in_place(scratch: np.ndarray, sample_type: str, out: np.ndarray | None = None) -> np.ndarray:
    """Like :func:`convert_values`, but uses the float64 array ``scratch`` as work space (it is overwritten)."""
    dtype = np.dtype(SAMPLE_TYPE_DTYPES[sample_type])
    if out is None:
        out = np.empty(scratch.shape, dtype)
    if sample_type == "FLOAT32":
        with np.errstate(over="ignore"):  # beyond float32 range -> +-inf, as a C cast does
            np.copyto(out, scratch, casting="unsafe")
        return out
    if sample_type == "AUTO":
        np.multiply(scratch, AUTO_SCALE, out=scratch)
        low, high = AUTO_RANGE
    else:
        low, high = INTEGER_RANGES[sample_type]
    np.rint(scratch, out=scratch)
    if low == 0:
        # fmax/fmin skip NaN, so NaN -> low (= 0) in the same pass that clamps
        np.fmax(scratch, low, out=scratch)
        np.fmin(scratch, high, out=scratch)
    else:
        np.clip(scratch, low, high, out=scratch)
        scratch[np.isnan(scratch)] = 0
    np.copyto(out, scratch, casting="unsafe")
    return out
