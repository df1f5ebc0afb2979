"""Run-time side of the ORBIT/TILE numpy fast path: the state of one chunk of pixels while a
translated ``evaluatePixel(samples)`` runs over it (see :mod:`evaluator.loopfast` for the translation).

A translated statement is a function of a :class:`Frame` and the mask of the pixels that reach it;
it answers the pixels that left the statement list (return, continue, break). :class:`LoopFastPath`
drives the statements chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from .fastpath import Returned_values, Value

# Pixels per chunk: big enough to amortise numpy's per-call cost, small enough for the float64
# temporaries to stay near the cache (ORBIT bench, CPU Mpix/s on the shared 2-core machine:
# 2^13 12.6, 2^14 14.3-15.9, 2^15 16.7-17.1, 2^16 15.4, 2^17 15.9).
LOOP_CHUNK_PIXELS = 1 << 15
# float64 copies of (band, scene) rows a chunk keeps at most (256 KiB each): enough for the bands of
# the current scene and of a few fixed samples, bounded however many scenes there are.
CACHED_BANDS = 16

# The scene a sample expression names, the same for every pixel.
Uniform = Callable[["Frame"], int]
# A statement runs on the pixels of a mask and answers the pixels that left the statement list it is
# in (return, continue, break), or None when none can.
Statement = Callable[["Frame", np.ndarray], "np.ndarray | None"]


class FastPathBailout(Exception):
    """This chunk needs V8 to be exact (e.g. a JS TypeError on a missing sample): run the batch there."""


@dataclass
class Frame:
    """The state of one chunk of pixels while evaluatePixel runs over it."""

    raw: Mapping[str, np.ndarray]           # band -> (T, n) input values
    scenes: int
    size: int
    results: dict[str, list[np.ndarray]]
    done: np.ndarray                        # pixels that returned
    values: dict[str, Value] = field(default_factory=dict)
    cache: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    stopped: np.ndarray | None = None       # pixels that left the loop for good in this iteration
    mask: np.ndarray | None = None          # pixels running the current statement

    def band(self, name: str, scene: int) -> np.ndarray:
        """Band ``name`` of scene ``scene`` as float64 (JS numbers); a missing scene needs V8."""
        if not 0 <= scene < self.scenes:
            raise FastPathBailout(f"samples[{scene}] is undefined")
        key = (name, scene)
        found = self.cache.get(key)
        if found is None:
            if len(self.cache) >= CACHED_BANDS:  # the loop has moved on: bound the memory of long series
                self.cache.clear()
            found = self.cache[key] = np.asarray(self.raw[name][scene], dtype=np.float64)
        return found

    def whole_band(self, name: str, scene: int, whole: int) -> np.ndarray | None:
        """Band ``name`` of ``scene`` in its own integer dtype when that holds the values exactly as
        float64 does and ``whole`` fits it (then comparing there equals comparing in float64); else None."""
        if not 0 <= scene < self.scenes:
            raise FastPathBailout(f"samples[{scene}] is undefined")
        raw = self.raw[name][scene]
        if raw.dtype == np.bool_:
            raw = raw.view(np.uint8)
        if raw.dtype.kind not in "iu" or raw.dtype.itemsize > 4:
            return None
        limits = np.iinfo(raw.dtype)
        return raw if limits.min <= whole <= limits.max else None

    def gather(self, name: str, refs: np.ndarray) -> np.ndarray:
        """Band ``name`` of the sample each pixel's reference points at (null only where unused)."""
        if self.mask is not None and bool(np.any(refs[self.mask] < 0)):
            raise FastPathBailout("a property of null")
        picked = self.raw[name][np.maximum(refs, 0), np.arange(self.size)] if self.scenes else np.zeros(self.size)
        return np.asarray(picked, dtype=np.float64)

    def stop(self, mask: np.ndarray) -> None:
        """These pixels leave the current loop (break, or return inside it)."""
        self.stopped = mask if self.stopped is None else self.stopped | mask


@dataclass(frozen=True)
class LoopFastPath:
    """A translated temporal evaluatePixel: :meth:`chunks` maps (T, N) band arrays to output values."""

    body: Statement
    outputs: tuple[tuple[str, int], ...]
    bands: tuple[str, ...]

    def chunks(self, bands: Mapping[str, np.ndarray], count: int, scenes: int
               ) -> Iterator[tuple[int, int, Returned_values]]:
        """Per chunk of pixels: (start, stop, {output id: [float64 array per band]}); ``bands`` maps
        band -> (scenes, count) array. Raises :class:`FastPathBailout` when a chunk needs V8.

        Call it inside ``np.errstate(all="ignore")``: JS arithmetic raises nothing.
        """
        for start in range(0, count, LOOP_CHUNK_PIXELS):
            stop = min(count, start + LOOP_CHUNK_PIXELS)
            size = stop - start
            frame = Frame(raw={name: values[:, start:stop] for name, values in bands.items() if name in self.bands},
                          scenes=scenes, size=size,
                          results={out_id: [np.zeros(size) for _ in range(n)] for out_id, n in self.outputs},
                          done=np.zeros(size, dtype=bool))
            self.body(frame, np.ones(size, dtype=bool))
            if not frame.done.all():
                raise FastPathBailout("evaluatePixel returned nothing for some pixels")
            yield start, stop, frame.results


def nothing(frame: Frame, mask: np.ndarray) -> None:
    """A statement without effect (an empty statement, a declaration of sample aliases)."""


def store(slot: np.ndarray, value: Value, mask: np.ndarray, everywhere: bool) -> None:
    """Write a returned value into an output band for the pixels of ``mask``."""
    if everywhere:
        slot[...] = value
    else:
        np.copyto(slot, value, where=mask)


def masked(mask: np.ndarray, new: Value, old: Value) -> np.ndarray:
    """An assignment under a mask: ``new`` where the pixel runs the statement, ``old`` elsewhere."""
    return np.where(mask, new, old)


__all__ = ["CACHED_BANDS", "LOOP_CHUNK_PIXELS", "FastPathBailout", "Frame", "LoopFastPath", "Statement", "Uniform",
           "masked", "nothing", "store"]
