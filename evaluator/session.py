"""Session: one fresh V8 context running one script's hooks over one tile's pixels (spec §6, §11)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from .conversion import convert_in_place, output_storage
from .errors import EvalscriptError, EvalscriptRuntimeError, EvalscriptTimeout
from .fastpath import CHUNK_PIXELS, FastPath
from .loopframe import LOOP_CHUNK_PIXELS, FastPathBailout, LoopFastPath
from .specs import OutputSpec, Scene

if TYPE_CHECKING:
    from .context import ScriptContext
    from .script import Evalscript

# Values per band the JS side holds at once; a batch larger than this runs in strips.
STRIP_VALUES = 1 << 20
# The first strip after (re)configuration runs in growing calls ending at these pixel counts: V8
# then optimizes the generated loop as a whole function early instead of by on-stack replacement
# late in one long call (measured: NDVI on a fresh 2004 x 2004 tile, 50 -> 32 ms CPU).
WARMUP_ENDS = (512, 2048, 8192, 32768, 131072)
# numpy dtype -> JS typed array kind; any other dtype is widened to float64.
JS_ARRAY_TYPES: dict[np.dtype, str] = {
    np.dtype(np.float64): "float64", np.dtype(np.float32): "float32",
    np.dtype(np.int32): "int32", np.dtype(np.uint32): "uint32",
    np.dtype(np.int16): "int16", np.dtype(np.uint16): "uint16",
    np.dtype(np.int8): "int8", np.dtype(np.uint8): "uint8", np.dtype(np.bool_): "uint8",
}
JS_TYPE_DTYPES: dict[str, np.dtype] = {name: np.dtype(name) for name in set(JS_ARRAY_TYPES.values())}

ScenesArg = Sequence[Scene] | Mapping[str, Sequence[Scene]]
SamplesArg = Mapping[str, Any]


@dataclass(frozen=True)
class _Group:
    """The bands of one datasource (or of the whole script without fusion) and how they mosaic."""

    key: str | None
    bands: tuple[str, ...]
    mosaicking: str

    @property
    def temporal(self) -> bool:
        return self.mosaicking != "SIMPLE"


def _groups(script: Evalscript) -> list[_Group]:
    declaration = script.declaration
    if not declaration.fusion:
        return [_Group(None, tuple(script.bands), declaration.mosaicking)]
    merged: dict[str, tuple[list[str], str]] = {}
    for spec in declaration.inputs:
        key = spec.datasource or ""
        bands = merged.setdefault(key, ([], spec.mosaicking or declaration.mosaicking))[0]
        bands.extend(band for band in spec.bands if band not in bands)
    return [_Group(key, tuple(bands), mosaicking) for key, (bands, mosaicking) in merged.items()]


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scene_json(scene: Scene) -> dict[str, Any]:
    return {"date": _iso(scene.date), "id": scene.id, "cloudCoverage": scene.cloud_coverage,
            "dataPath": scene.data_path, "tileId": scene.tile_id, "orbitId": scene.orbit_id}


@dataclass
class _Buffers:
    """numpy views on the JS typed arrays of the current configuration."""

    cap: int
    types: list[list[str]]
    inputs: list[list[np.ndarray]]   # per group, per band: (T, cap), scene-major like the JS side
    outputs: list[np.ndarray]        # per output: (bands, cap) in its storage dtype
    warmed: bool = False             # the JS loop has had its warm-up calls


class Session:
    """One script execution context for one tile: select_scenes -> update_output -> evaluate* -> finish.

    Every call runs under ``timeout_s`` (a whole ``evaluate`` call shares one budget). After a timeout
    or memory error the context is discarded and further calls raise. Use as a context manager.
    """

    def __init__(self, script: Evalscript, *, timeout_s: float = 60.0, max_heap_bytes: int | None = None) -> None:
        self._script = script
        self._timeout_s = timeout_s
        self._groups = _groups(script)
        self._fusion = script.declaration.fusion
        self._outputs: list[OutputSpec] = list(script.declaration.outputs)
        self._scene_counts: list[int] | None = None
        self._buffers: _Buffers | None = None
        self.path: str | None = None  # which evaluator ran the last batch: "numpy" or "v8"
        self._max_heap_bytes = max_heap_bytes
        self._update_config: dict[str, Any] | None = None  # replayed in a context made after update_output
        self._context: ScriptContext | None = None
        self._closed = False
        if script.needs_v8_per_session:
            self._js()

    def _js(self) -> ScriptContext:
        """The session's V8 context, made on first use: with setup() run in it (it may build global state the
        other hooks use) and the outputs of update_output already set."""
        if self._context is None:
            if self._closed:
                raise EvalscriptError("the session is closed")
            context = self._script.new_context(self._timeout_s, self._max_heap_bytes)
            try:
                if self._script.kind != "v1":
                    context.call("setup", self._script.kind, timeout_s=self._timeout_s)
                if self._update_config is not None:
                    context.call("updateOutput", _dumps(self._update_config), timeout_s=self._timeout_s)
            except BaseException:
                context.close()
                raise
            self._context = context
        return self._context

    @property
    def _defaults_in_python(self) -> bool:
        """The script defines no hook besides setup and evaluatePixel and no V8 context was needed yet: scene
        selection, updateOutput and finish are their defaults, computed here."""
        return self._context is None and not self._script.needs_v8_per_session

    @property
    def uses_v8(self) -> bool:
        """Whether this session has made its V8 context (scripts on the numpy fast path without other hooks
        never need one)."""
        return self._context is not None

    # ---- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Drop the numpy views, then tear the V8 context down (if one was made)."""
        self._buffers = None
        self._closed = True
        if self._context is not None:
            self._context.close()

    # ---- scenes ---------------------------------------------------------------------------------

    def _per_group(self, scenes: ScenesArg) -> list[list[Scene]]:
        if self._fusion:
            if not isinstance(scenes, Mapping):
                raise TypeError("a data-fusion script takes scenes as a dict keyed by datasource id")
            return [list(scenes.get(group.key or "", [])) for group in self._groups]
        if isinstance(scenes, Mapping):
            raise TypeError("scenes must be a list of Scene for a script without data fusion")
        return [list(scenes)]

    def _groups_json(self, per_group: list[list[Scene]]) -> list[dict[str, Any]]:
        return [{"key": group.key, "mosaicking": group.mosaicking, "scenes": [_scene_json(s) for s in scenes]}
                for group, scenes in zip(self._groups, per_group, strict=True)]

    def select_scenes(self, scenes: ScenesArg, time_from: datetime | None = None,
                      time_to: datetime | None = None) -> list[int] | dict[str, list[int]]:
        """Run preProcessScenes (or legacy filterScenes) over the offered scenes (most recent first).

        Returns the indices of the kept scenes in the order the script leaves them; identity for
        SIMPLE or without a hook. Fusion scripts take and return dicts keyed by datasource id.
        """
        per_group = self._per_group(scenes)
        dates = [scene.date for group_scenes in per_group for scene in group_scenes]
        start = time_from or (min(dates) if dates else datetime.now(UTC))
        end = time_to or (max(dates) if dates else start)
        config = {"from": _iso(start), "to": _iso(end), "fusion": self._fusion,
                  "groups": self._groups_json(per_group)}
        if self._defaults_in_python:  # no preProcessScenes: keep all
            kept = [list(range(len(group_scenes))) for group_scenes in per_group]
        else:
            kept = self._js().call("selectScenes", _dumps(config), timeout_s=self._timeout_s)
        for indices, offered in zip(kept, per_group, strict=True):
            if not all(isinstance(i, int) and 0 <= i < len(offered) for i in indices):
                raise EvalscriptRuntimeError(f"scene selection returned invalid indices {indices}")
        if self._fusion:
            return {group.key or "": indices for group, indices in zip(self._groups, kept, strict=True)}
        return kept[0]

    def pick(self, scenes: ScenesArg, kept: list[int] | dict[str, list[int]]) -> Any:
        """The kept scenes themselves (same shape as ``scenes``), in the kept order."""
        if isinstance(kept, dict):
            return {key: [scenes[key][i] for i in indices] for key, indices in kept.items()}
        return [scenes[i] for i in kept]

    def pick_samples(self, samples: SamplesArg, kept: list[int] | dict[str, list[int]]) -> dict[str, Any]:
        """Slice the time axis of temporal samples to the kept scenes (SIMPLE samples unchanged)."""
        def select(group: _Group, bands: Mapping[str, Any], indices: list[int]) -> dict[str, Any]:
            if not group.temporal:
                return dict(bands)
            return {band: np.asarray(values)[indices] for band, values in bands.items()}

        if self._fusion:
            assert isinstance(kept, dict)
            return {g.key: select(g, samples[g.key], kept[g.key or ""]) for g in self._groups if g.key in samples}
        assert isinstance(kept, list)
        return select(self._groups[0], samples, kept)

    def update_output(self, kept_scenes: ScenesArg) -> list[OutputSpec]:
        """Run updateOutput with the kept scenes; returns the outputs with their final band counts."""
        per_group = self._per_group(kept_scenes)
        config = {"fusion": self._fusion, "groups": self._groups_json(per_group),
                  "outputs": [{"id": out.id, "bands": out.bands} for out in self._script.declaration.outputs]}
        if self._defaults_in_python:  # no updateOutput: as declared
            counts = [out.bands for out in self._script.declaration.outputs]
        else:
            counts = self._js().call("updateOutput", _dumps(config), timeout_s=self._timeout_s)
        self._update_config = config
        outputs = []
        for out, count in zip(self._script.declaration.outputs, counts, strict=True):
            if isinstance(count, bool) or not isinstance(count, int | float) or count != int(count) or count < 0:
                raise EvalscriptRuntimeError(f"updateOutput set output '{out.id}' bands to {count!r}; "
                                             "expected an integer >= 0")
            outputs.append(replace(out, bands=int(count)))
        self._outputs = outputs
        self._scene_counts = [len(scenes) if group.temporal else 1
                              for group, scenes in zip(self._groups, per_group, strict=True)]
        self._buffers = None
        return list(outputs)

    @property
    def outputs(self) -> list[OutputSpec]:
        """The outputs with their current band counts."""
        return list(self._outputs)

    # ---- pixels ---------------------------------------------------------------------------------

    def evaluate(self, samples: SamplesArg, scenes: ScenesArg | None = None) -> dict[str, np.ndarray]:
        """Run evaluatePixel over a batch of pixels; returns {output id: (bands, *pixel_shape) array}.

        ``samples`` maps band -> array of shape (N,) / (H, W) for SIMPLE or (T, N) / (T, H, W) for
        ORBIT/TILE (T = number of kept scenes); for data fusion it maps datasource id -> such a dict.
        Values are converted to each output's sampleType dtype. Successive calls (strips of one
        tile) reuse the compiled script and the JS buffers.
        """
        if self._scene_counts is None:
            self.update_output(scenes if scenes is not None else ({} if self._fusion else []))
        deadline = time.monotonic() + self._timeout_s
        arrays, pixel_shape = self._collect(samples)
        count = int(np.prod(pixel_shape, dtype=np.int64))
        results = [np.empty((out.bands, count), out.dtype) for out in self._outputs]
        fast = self._script.fast_path_for(tuple((out.id, out.bands) for out in self._outputs)) \
            if self._script.fast_path else None
        self.path = "numpy" if fast is not None else "v8"
        if fast is not None and count:
            try:
                self._run_numpy(fast, arrays, results, count, deadline)
            except FastPathBailout:
                self.path = "v8"  # a case only V8 reports exactly (e.g. a TypeError): run the batch there
        if self.path == "v8" and count:
            self._run_v8(arrays, results, count, deadline)
        return {out.id: result.reshape((out.bands, *pixel_shape))
                for out, result in zip(self._outputs, results, strict=True)}

    def _run_v8(self, arrays: list[list[np.ndarray]], results: list[np.ndarray], count: int,
                deadline: float) -> None:
        """evaluatePixel in V8 over the whole batch, strip by strip through the shared typed arrays."""
        buffers = self._ensure_buffers(arrays, count)
        for start in range(0, count, buffers.cap):
            n = min(buffers.cap, count - start)
            self._fill_inputs(buffers, arrays, start, n)
            self._run_pixels(self._call_ends(buffers, n), start, deadline)
            for out, view, result in zip(self._outputs, buffers.outputs, results, strict=True):
                if not out.bands:
                    continue
                if output_storage(out.sample_type).final:
                    result[:, start:start + n] = view[:, :n]
                else:
                    convert_in_place(view[:, :n], out.sample_type, out=result[:, start:start + n])

    def _run_numpy(self, fast: FastPath | LoopFastPath, arrays: list[list[np.ndarray]], results: list[np.ndarray],
                   count: int, deadline: float) -> None:
        """The numpy translation of evaluatePixel over the whole batch (one group), converted to the
        sampleTypes chunk by chunk (while the chunk is still in cache). SIMPLE bands go in as (N,)
        arrays, ORBIT/TILE bands as (T, N)."""
        assert self._scene_counts is not None
        group = self._groups[0]
        bands = {band: values if group.temporal else values[0]
                 for band, values in zip(group.bands, arrays[0], strict=True)}
        scratch = {out.id: np.empty((out.bands, max(CHUNK_PIXELS, LOOP_CHUNK_PIXELS))) for out in self._outputs
                   if out.bands and not output_storage(out.sample_type).final}
        with np.errstate(all="ignore"):
            chunks = fast.chunks(bands, count, self._scene_counts[0]) if isinstance(fast, LoopFastPath) \
                else fast.chunks(bands, count)
            for start, stop, values in chunks:
                if time.monotonic() > deadline:  # the same per-call budget as in V8
                    raise EvalscriptTimeout(f"script timeout: evaluate exceeded {self._timeout_s:g} s")
                for out, result in zip(self._outputs, results, strict=True):
                    if not out.bands:
                        continue
                    if out.id not in scratch:  # FLOAT32: the assignment is the cast
                        for k, band_values in enumerate(values[out.id]):
                            result[k, start:stop] = band_values
                        continue
                    raw = scratch[out.id][:, :stop - start]
                    for k, band_values in enumerate(values[out.id]):
                        raw[k] = band_values
                    convert_in_place(raw, out.sample_type, out=result[:, start:stop])

    def _run_pixels(self, ends: list[int], start: int, deadline: float) -> None:
        """evaluatePixel over buffer pixels [0, ends[-1]) within what is left of the call's time budget."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.close()
            raise EvalscriptTimeout(f"script timeout: evaluate exceeded {self._timeout_s:g} s")
        self._js().call("run", ends, start, timeout_s=remaining)

    @staticmethod
    def _call_ends(buffers: _Buffers, n: int) -> list[int]:
        """Ends of the strip-loop calls over one strip of n pixels (the warm-up split, once)."""
        if buffers.warmed:
            return [n]
        buffers.warmed = True
        return [end for end in WARMUP_ENDS if end < n] + [n]

    def _collect(self, samples: SamplesArg) -> tuple[list[list[np.ndarray]], tuple[int, ...]]:
        """Per group, per band: a (T, N) array; plus the common pixel shape."""
        assert self._scene_counts is not None
        pixel_shape: tuple[int, ...] | None = None
        collected = []
        for group, scene_count in zip(self._groups, self._scene_counts, strict=True):
            if self._fusion:
                if group.key not in samples:
                    raise ValueError(f"samples has no datasource '{group.key}'")
                bands = samples[group.key]
            else:
                bands = samples
            group_arrays = []
            for band in group.bands:
                if band not in bands:
                    where = f" of datasource '{group.key}'" if self._fusion else ""
                    raise ValueError(f"samples has no band '{band}'{where}")
                values = np.asarray(bands[band])
                shape = values.shape[1:] if group.temporal else values.shape
                if group.temporal and (values.ndim < 1 or values.shape[0] != scene_count):
                    raise ValueError(f"band '{band}' has shape {values.shape}; expected {scene_count} scenes "
                                     "on axis 0 (one per kept scene)")
                if pixel_shape is None:
                    pixel_shape = shape
                elif shape != pixel_shape:
                    raise ValueError(f"band '{band}' covers pixels {shape}, other bands {pixel_shape}")
                group_arrays.append(values.reshape(scene_count, int(np.prod(shape, dtype=np.int64))))
            collected.append(group_arrays)
        if pixel_shape is None:  # the script reads no band: the pixel grid is that of any array given
            first = next((np.asarray(v) for v in samples.values() if not isinstance(v, Mapping)), None)
            pixel_shape = first.shape[1:] if first is not None and self._groups[0].temporal else (
                first.shape if first is not None else (0,))
        return collected, pixel_shape

    def _ensure_buffers(self, arrays: list[list[np.ndarray]], count: int) -> _Buffers:
        types = [[JS_ARRAY_TYPES.get(a.dtype, "float64") for a in group_arrays] for group_arrays in arrays]
        assert self._scene_counts is not None
        longest_time = max(self._scene_counts, default=1) or 1
        wanted_cap = max(1, min(count, STRIP_VALUES // longest_time))
        current = self._buffers
        if current is not None and current.types == types and current.cap >= wanted_cap:
            return current
        cap = max(wanted_cap, current.cap if current is not None and current.types == types else 0)
        self._buffers = None  # drop views before the JS side replaces the arrays
        storages = [output_storage(out.sample_type) for out in self._outputs]
        config = {
            "cap": cap,
            "fusion": self._fusion,
            "outputs": [{"id": out.id, "bands": out.bands, "storage": storage.js_type}
                        for out, storage in zip(self._outputs, storages, strict=True)],
            "groups": [{"key": group.key, "mosaicking": group.mosaicking, "T": scene_count,
                        "bands": list(group.bands), "types": group_types}
                       for group, scene_count, group_types in zip(self._groups, self._scene_counts, types,
                                                                  strict=True)],
            "v1": {"params": list(self._script.v1_params)} if self._script.kind == "v1" else None,
            "reuseSamples": self._script.reuses_samples,
        }
        self._js().call("configure", _dumps(config), timeout_s=self._timeout_s)
        inputs = [[self._view(f"__evalbatch.input({g}, {b})", JS_TYPE_DTYPES[type_name], scene_count, cap)
                   for b, type_name in enumerate(group_types)]
                  for g, (group_types, scene_count) in enumerate(zip(types, self._scene_counts, strict=True))]
        outputs = [self._view(f"__evalbatch.output({j})", storage.dtype, out.bands, cap)
                   if out.bands else np.empty((0, cap), storage.dtype)
                   for j, (out, storage) in enumerate(zip(self._outputs, storages, strict=True))]
        self._buffers = _Buffers(cap, types, inputs, outputs)
        return self._buffers

    def _view(self, expression: str, dtype: np.dtype, rows: int, columns: int) -> np.ndarray:
        """A (rows, columns) numpy view on the JS typed array ``expression`` returns (zero-copy)."""
        view = np.frombuffer(self._js().buffer(expression, self._timeout_s), dtype=dtype)
        if view.size != rows * columns:
            raise EvalscriptError(f"internal: {expression} has {view.size} values, expected {rows * columns}")
        return view.reshape(rows, columns)

    @staticmethod
    def _fill_inputs(buffers: _Buffers, arrays: list[list[np.ndarray]], start: int, n: int) -> None:
        for group_views, group_arrays in zip(buffers.inputs, arrays, strict=True):
            for view, values in zip(group_views, group_arrays, strict=True):
                np.copyto(view[:, :n], values[:, start:start + n], casting="unsafe")

    # ---- end ------------------------------------------------------------------------------------

    def finish(self) -> dict | None:
        """Run updateOutputMetadata; returns outputMetadata.userData (None when the script sets none)."""
        if self._defaults_in_python:  # no updateOutputMetadata
            return None
        return self._js().call("finish", timeout_s=self._timeout_s)


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False)


__all__ = ["Session"]
