"""One V8 context (mini-racer) holding the helper library, the runtime driver and one script."""

from __future__ import annotations

import contextlib
import json
from functools import cache
from importlib import resources
from typing import Any

from py_mini_racer import MiniRacer
from py_mini_racer import _exc as racer_errors

from .errors import (
    SCRIPT_NAME,
    EvalscriptError,
    EvalscriptMemoryError,
    EvalscriptOutputError,
    EvalscriptRuntimeError,
    EvalscriptSyntaxError,
    EvalscriptTimeout,
    location_from_stack,
    parse_v8_message,
)

DEFAULT_MAX_HEAP_BYTES = 1 << 30
LIBRARY_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 1.0
_JS_FILES = ("helpers.js", "runtime.js")


@cache
def _library_source(name: str) -> str:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return f"{text}\n//# sourceURL=evalbatch-{name}"


def _library_context() -> MiniRacer:
    """A new MiniRacer with the helper library and the runtime driver loaded (no user code)."""
    racer = MiniRacer()
    try:
        for name in _JS_FILES:
            racer.eval(_library_source(name), timeout_sec=LIBRARY_TIMEOUT_S)
    except BaseException:
        racer.close()
        raise
    return racer


class ScriptContext:
    """A fresh MiniRacer context with the helpers, the runtime driver and the user script loaded.

    ``column_shift`` is subtracted from columns reported on line 1 (legacy V1 scripts are wrapped
    in a function header written on their first line). After a timeout or an out-of-memory error
    the context is closed and every further call raises.
    """

    def __init__(self, source: str, *, line_count: int, timeout_s: float,
                 max_heap_bytes: int = DEFAULT_MAX_HEAP_BYTES, column_shift: int = 0) -> None:
        self._line_count = max(line_count, 1)
        self._column_shift = column_shift
        self._racer: MiniRacer | None = _library_context()
        try:
            self._racer.set_hard_memory_limit(max_heap_bytes)
            self._eval(f"{source}\n//# sourceURL={SCRIPT_NAME}", timeout_s)
        except BaseException:
            self.close()
            raise

    @property
    def closed(self) -> bool:
        """True once the context has been torn down."""
        return self._racer is None

    def close(self) -> None:
        """Tear the V8 context down (idempotent)."""
        racer, self._racer = self._racer, None
        if racer is not None:
            racer.close()

    def _discard(self) -> None:
        """Close after a cancelled call: first let V8 report the cancelled task (a trivial eval queued
        behind it), so its late callback does not reach a closed event loop."""
        racer = self._racer
        if racer is not None:
            with contextlib.suppress(racer_errors.MiniRacerBaseException):
                racer.eval("0", timeout_sec=DRAIN_TIMEOUT_S)
        self.close()

    def call(self, method: str, *args: Any, timeout_s: float) -> Any:
        """Call ``__evalbatch.<method>(...)`` with JSON-encodable args; returns the decoded result.

        String arguments are passed as JS string literals; the driver answers with JSON text.
        """
        literal_args = ", ".join(json.dumps(arg) for arg in args)
        answer = self._eval(f"__evalbatch.{method}({literal_args})", timeout_s)
        if answer == "":
            return None
        decoded = json.loads(answer)
        if "error" in decoded:
            raise self._from_driver_error(decoded["error"])
        return decoded["ok"]

    def buffer(self, expression: str, timeout_s: float) -> memoryview:
        """A zero-copy view of the typed array the driver expression returns."""
        view = self._eval(expression, timeout_s)
        if not isinstance(view, memoryview):
            raise EvalscriptError(f"internal: {expression} did not return a typed array")
        return view

    def _eval(self, code: str, timeout_s: float) -> Any:
        if self._racer is None:
            raise EvalscriptError("the script context was closed (after an earlier timeout, memory error "
                                  "or the end of its session)")
        try:
            return self._racer.eval(code, timeout_sec=timeout_s)
        except racer_errors.JSTimeoutException as exc:
            self._discard()
            raise EvalscriptTimeout(f"script timeout: execution exceeded {timeout_s:g} s") from exc
        except racer_errors.JSOOMException as exc:
            self._discard()
            raise EvalscriptMemoryError("script exceeded the JavaScript memory limit") from exc
        except racer_errors.JSParseException as exc:
            raise self._from_message(str(exc), EvalscriptSyntaxError) from exc
        except racer_errors.JSEvalException as exc:
            if self._racer is not None and self._racer.was_hard_memory_limit_reached():
                self.close()
                raise EvalscriptMemoryError("script exceeded the JavaScript memory limit") from exc
            raise self._from_message(str(exc), EvalscriptRuntimeError) from exc

    def _shift(self, line: int | None, column: int | None) -> int | None:
        if line == 1 and column is not None:
            return max(column - self._column_shift, 1)
        return column

    def _from_message(self, text: str, default_cls: type[EvalscriptError]) -> EvalscriptError:
        name, message, where = parse_v8_message(text, self._line_count)
        cls = EvalscriptSyntaxError if name == "SyntaxError" else default_cls
        return cls(message, js_name=name, line=where.line, column=self._shift(where.line, where.column))

    def _from_driver_error(self, info: dict[str, Any]) -> EvalscriptError:
        where = location_from_stack(info.get("stack"), self._line_count)
        column = self._shift(where.line, where.column)
        if info.get("kind") == "output":
            return EvalscriptOutputError(info["message"], pixel=info.get("pixel"))
        if info.get("kind") != "runtime":
            return EvalscriptRuntimeError(info["message"], line=where.line, column=column, pixel=info.get("pixel"))
        return EvalscriptRuntimeError(info["message"], js_name=info.get("name"), line=where.line, column=column,
                                      pixel=info.get("pixel"))
