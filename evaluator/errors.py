"""Exceptions raised by the evaluator, and their construction from V8 errors."""

from __future__ import annotations

import re
from dataclasses import dataclass

SCRIPT_NAME = "evalscript.js"
# Syntax errors stop the parser before it reads the sourceURL comment, so they say <anonymous>.
_MESSAGE_HEAD = re.compile(rf"^(?:{re.escape(SCRIPT_NAME)}|<anonymous>):(\d+): (\w+): ", re.MULTILINE)
_STACK_FRAME = re.compile(rf"{re.escape(SCRIPT_NAME)}:(\d+):(\d+)")


class EvalscriptError(Exception):
    """Base class: the script cannot be run or failed while running.

    ``js_name`` is the JavaScript error name (``SyntaxError``, ``TypeError`` ...) when there is one;
    ``line``/``column`` are 1-based positions in the user's script when known; ``pixel`` is the
    index of the pixel being evaluated (within the current ``evaluate`` call) when known.
    """

    def __init__(self, message: str, *, js_name: str | None = None, line: int | None = None,
                 column: int | None = None, pixel: int | None = None) -> None:
        self.js_name = js_name
        self.line = line
        self.column = column
        self.pixel = pixel
        self.detail = message
        super().__init__(_compose(message, js_name, line, column, pixel))


class EvalscriptSyntaxError(EvalscriptError):
    """The script does not compile."""


class EvalscriptRuntimeError(EvalscriptError):
    """A hook (setup, preProcessScenes, evaluatePixel, ...) threw or returned something unusable."""


class EvalscriptOutputError(EvalscriptRuntimeError):
    """evaluatePixel returned the wrong number of values or values that are not numbers."""


class EvalscriptTimeout(EvalscriptRuntimeError):
    """The script ran past its time limit; the context was discarded."""


class EvalscriptMemoryError(EvalscriptRuntimeError):
    """The script exceeded the V8 heap limit; the context was discarded."""


def _compose(message: str, js_name: str | None, line: int | None, column: int | None,
             pixel: int | None) -> str:
    text = f"{js_name}: {message}" if js_name and not message.startswith(js_name) else message
    if line is not None:
        text += f" (line {line}" + (f", column {column})" if column is not None else ")")
    if pixel is not None:
        text += f" at pixel {pixel}"
    return text


@dataclass(frozen=True)
class Location:
    """A 1-based line/column in the user's script."""

    line: int | None = None
    column: int | None = None


def location_from_stack(stack: str | None, line_count: int) -> Location:
    """The first frame of the user's script in a V8 stack trace."""
    if not stack:
        return Location()
    match = _STACK_FRAME.search(stack)
    if not match:
        return Location()
    return Location(min(int(match.group(1)), line_count), int(match.group(2)))


def parse_v8_message(text: str, line_count: int) -> tuple[str | None, str, Location]:
    """Split a mini-racer exception text into (error name, message, location).

    The text looks like ``evalscript.js:3: TypeError: boom\\n<source line>\\n   ^^^\\n...``; the
    column is the position of the caret under the source line, or the first stack frame.
    """
    match = _MESSAGE_HEAD.search(text)
    if not match:
        first = text.strip().splitlines()[0] if text.strip() else text
        return None, first, Location()
    line = int(match.group(1))
    name = match.group(2)
    rest = text[match.end():].split("\n")
    message = rest[0]
    column = None
    if len(rest) >= 3 and "^" in rest[2]:
        column = rest[2].index("^") + 1
    stack_location = location_from_stack(text[match.end():], line_count)
    if stack_location.line == line and stack_location.column is not None:
        column = stack_location.column
    if line > line_count:  # errors at end of input point at the appended sourceURL line
        line, column = line_count, None
    return name, message, Location(line, column)
