"""evaluator: a safe, batch-oriented Evalscript V3 (and legacy V1/V2) runtime on V8 (mini-racer).

Stands alone: imports nothing from the other evalbatch packages.
"""

from .declaration import EvalscriptSetupError
from .errors import (
    EvalscriptError,
    EvalscriptMemoryError,
    EvalscriptOutputError,
    EvalscriptRuntimeError,
    EvalscriptSyntaxError,
    EvalscriptTimeout,
)
from .script import Evalscript
from .session import Session
from .specs import InputSpec, OutputSpec, RunResult, Scene

__all__ = [
    "Evalscript",
    "EvalscriptError",
    "EvalscriptMemoryError",
    "EvalscriptOutputError",
    "EvalscriptRuntimeError",
    "EvalscriptSetupError",
    "EvalscriptSyntaxError",
    "EvalscriptTimeout",
    "InputSpec",
    "OutputSpec",
    "RunResult",
    "Scene",
    "Session",
]
