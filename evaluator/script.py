"""Evalscript: a parsed script (version, inputs, outputs) that opens sessions to run it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import closing
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .context import DEFAULT_MAX_HEAP_BYTES, ScriptContext
from .declaration import Declaration, default_unit, legacy_declaration, parse_declaration
from .errors import EvalscriptSyntaxError
from .fastpath import FastPath, translate
from .header import declared_version
from .legacy import (
    DEFAULT_V1_BANDS,
    LEGACY_SETUP_MOSAICKING,
    V1_MOSAICKING,
    is_top_level_return,
    mentioned_bands,
    wrap_v1_body,
)
from .loopfast import translate_loop
from .loopframe import LoopFastPath
from .retention import samples_stay_local
from .specs import InputSpec, OutputSpec, RunResult, Scene

if TYPE_CHECKING:
    from .session import Session

PARSE_TIMEOUT_S = 10.0
V1_FALLBACK_BANDS = 3
KIND_V3 = "v3"
KIND_LEGACY_SETUP = "legacy"
KIND_V1 = "v1"


class Evalscript:
    """A compiled-and-checked evalscript. Create it with :meth:`Evalscript.parse`."""

    def __init__(self, *, source: str, prepared_source: str, kind: str, version: int,
                 declaration: Declaration, column_shift: int = 0, v1_params: Sequence[str] = (),
                 warnings: Sequence[str] = (), max_heap_bytes: int = DEFAULT_MAX_HEAP_BYTES,
                 hooks: frozenset[str] | None = None) -> None:
        self.source = source
        self.version = version
        self.kind = kind
        self.declaration = declaration
        self.warnings = list(warnings)
        self._prepared_source = prepared_source
        self._column_shift = column_shift
        self._v1_params = tuple(v1_params)
        self._max_heap_bytes = max_heap_bytes
        # the hook functions the script defines after setup() (None: not known, e.g. V1 bodies)
        self.hooks = hooks
        self._translations: dict[tuple[tuple[str, int], ...], FastPath | LoopFastPath | None] = {}

    # ---- construction ---------------------------------------------------------------------------

    @classmethod
    def parse(cls, source: str, *, timeout_s: float = PARSE_TIMEOUT_S,
              legacy_bands: Sequence[str] = DEFAULT_V1_BANDS,
              max_heap_bytes: int = DEFAULT_MAX_HEAP_BYTES) -> Evalscript:
        """Detect the script's version, compile it and run ``setup()`` once in a fresh context.

        Raises EvalscriptSyntaxError when it does not compile, EvalscriptRuntimeError when the top
        level or setup() throws or setup() returns an invalid declaration, EvalscriptTimeout.
        ``legacy_bands`` are the band names a V1 body is called with (the collection's bands).
        """
        version = declared_version(source)
        line_count = source.count("\n") + 1
        try:
            context = ScriptContext(source, line_count=line_count, timeout_s=timeout_s,
                                    max_heap_bytes=max_heap_bytes)
        except EvalscriptSyntaxError as exc:
            if not is_top_level_return(exc.detail):
                raise
            return cls._parse_v1(source, version, line_count, timeout_s, legacy_bands, max_heap_bytes)
        with closing(context):
            warnings: list[str] = []
            kind = cls._setup_kind(context, version, timeout_s, warnings)
            declaration = cls._declare(context, kind, timeout_s)
            hooks = frozenset(context.call("definedHooks", timeout_s=timeout_s))
        return cls(source=source, prepared_source=source, kind=kind,
                   version=version if version in (2, 3) else (3 if kind == KIND_V3 else 1),
                   declaration=declaration, warnings=warnings, max_heap_bytes=max_heap_bytes, hooks=hooks)

    @staticmethod
    def _setup_kind(context: ScriptContext, version: int | None, timeout_s: float, warnings: list[str]) -> str:
        if version == 3:
            return KIND_V3
        arity = context.call("setupArity", timeout_s=timeout_s)
        if version == 2 or (arity is not None and arity >= 1):
            return KIND_LEGACY_SETUP
        if arity == 0:
            warnings.append("no //VERSION=3 header, but setup() takes no arguments: run as V3")
        return KIND_V3  # without any setup(), running it reports the missing function

    @staticmethod
    def _declare(context: ScriptContext, kind: str, timeout_s: float) -> Declaration:
        raw = context.call("setup", kind, timeout_s=timeout_s)
        if kind == KIND_V3:
            return parse_declaration(raw)
        returned = raw["returned"]
        if isinstance(returned, dict) and "input" in returned and "output" in returned:
            return parse_declaration(returned)  # a V3-style declaration under a V2 header
        return legacy_declaration(returned, raw["components"], raw["outputCount"],
                                  LEGACY_SETUP_MOSAICKING)

    @classmethod
    def _parse_v1(cls, source: str, version: int | None, line_count: int, timeout_s: float,
                  legacy_bands: Sequence[str], max_heap_bytes: int) -> Evalscript:
        params = tuple(legacy_bands)
        wrapped, shift = wrap_v1_body(source, params)
        warnings = []
        if version == 3:
            warnings.append("//VERSION=3 header on a V1 body (top-level return): run as a V1 script")
        with closing(ScriptContext(wrapped, line_count=line_count, timeout_s=timeout_s,
                                    max_heap_bytes=max_heap_bytes, column_shift=shift)) as context:
            band_count = context.call("probeV1", len(params), timeout_s=timeout_s)
        bands = mentioned_bands(source, params)
        units = {band: default_unit(band) for band in bands}
        declaration = Declaration(
            inputs=[InputSpec(bands=bands, units=units)],
            outputs=[OutputSpec("default", band_count if band_count is not None else V1_FALLBACK_BANDS, "AUTO")],
            mosaicking=V1_MOSAICKING,
        )
        return cls(source=source, prepared_source=wrapped, kind=KIND_V1, version=1, declaration=declaration,
                   column_shift=shift, v1_params=params, warnings=warnings, max_heap_bytes=max_heap_bytes)

    # ---- description ----------------------------------------------------------------------------

    @property
    def mosaicking(self) -> str:
        """``SIMPLE``, ``ORBIT`` or ``TILE`` as setup() declared it."""
        return self.declaration.mosaicking

    @property
    def inputs(self) -> list[InputSpec]:
        """The input declarations of setup()."""
        return list(self.declaration.inputs)

    @property
    def outputs(self) -> list[OutputSpec]:
        """The outputs as setup() declared them (updateOutput may change band counts per session)."""
        return list(self.declaration.outputs)

    @property
    def bands(self) -> list[str]:
        """Every band name the script reads, in first-seen order (dataMask included if requested)."""
        seen: dict[str, None] = {}
        for spec in self.declaration.inputs:
            seen.update(dict.fromkeys(spec.bands))
        return list(seen)

    @property
    def datasources(self) -> list[str]:
        """The datasource ids of a data-fusion script; an empty list without fusion."""
        if not self.declaration.fusion:
            return []
        return list(dict.fromkeys(spec.datasource for spec in self.declaration.inputs if spec.datasource))

    # ---- running --------------------------------------------------------------------------------

    def new_context(self, timeout_s: float, max_heap_bytes: int | None = None) -> ScriptContext:
        """A fresh context with this script loaded (used by sessions)."""
        return ScriptContext(self._prepared_source, line_count=self.source.count("\n") + 1, timeout_s=timeout_s,
                             max_heap_bytes=max_heap_bytes or self._max_heap_bytes,
                             column_shift=self._column_shift)

    @cached_property
    def fast_path(self) -> bool:
        """True when evaluatePixel (V3, no data fusion) has an exact numpy translation, which sessions
        then use instead of V8 (SIMPLE: :mod:`evaluator.fastpath`; ORBIT/TILE: :mod:`evaluator.loopfast`)."""
        return self.fast_path_for(tuple((out.id, out.bands) for out in self.declaration.outputs)) is not None

    def fast_path_for(self, outputs: tuple[tuple[str, int], ...]) -> FastPath | LoopFastPath | None:
        """The numpy translation for these (output id, band count) pairs, or None (then V8 runs)."""
        if self.kind != KIND_V3 or self.declaration.fusion:
            return None
        if outputs not in self._translations:
            translator = translate if self.mosaicking == "SIMPLE" else translate_loop
            self._translations[outputs] = translator(self._prepared_source, self.bands, dict(outputs))
        return self._translations[outputs]

    @cached_property
    def reuses_samples(self) -> bool:
        """ORBIT/TILE: evaluatePixel provably keeps no sample past its call, so the runtime may hand
        it the same per-scene sample objects (reading the current pixel) for every pixel."""
        if self.kind == KIND_V1 or self.mosaicking == "SIMPLE" or self.declaration.fusion:
            return False
        return samples_stay_local(self._prepared_source)

    @property
    def v1_params(self) -> tuple[str, ...]:
        """The band parameters of a V1 body (empty for other kinds)."""
        return self._v1_params

    @cached_property
    def needs_v8_per_session(self) -> bool:
        """False when a session can run without V8 until something needs it: a V3 script without data fusion
        whose evaluatePixel has a numpy translation and which defines no other hook than setup()."""
        if self.hooks is None or not self.fast_path:
            return True
        return bool(self.hooks - {"setup", "evaluatePixel"})

    def session(self, timeout_s: float = 60.0, max_heap_bytes: int | None = None) -> Session:
        """Open one session for one tile (its own fresh V8 context, made when first needed); use it as a
        context manager."""
        from .session import Session

        return Session(self, timeout_s=timeout_s, max_heap_bytes=max_heap_bytes)

    def run(self, samples: Mapping[str, Any], scenes: Sequence[Scene] | Mapping[str, Sequence[Scene]] | None = None,
            time_from: datetime | None = None, time_to: datetime | None = None,
            timeout_s: float = 60.0) -> RunResult:
        """The whole hook sequence on one batch: select scenes, keep their time slices, evaluate, finish."""
        with self.session(timeout_s=timeout_s) as run:
            offered = scenes if scenes is not None else ({} if self.declaration.fusion else [])
            kept = run.select_scenes(offered, time_from, time_to)
            kept_scenes = run.pick(offered, kept)
            run.update_output(kept_scenes)
            outputs = run.evaluate(run.pick_samples(samples, kept), scenes=kept_scenes)
            userdata = run.finish()
        return RunResult(outputs=outputs, userdata=userdata, kept=kept)

