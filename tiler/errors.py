"""Errors raised while parsing an AOI or tiling it."""

from __future__ import annotations

#: Dotted JSON path of the request's bounds, the prefix of every AOIError field.
BOUNDS_FIELD = "processRequest.input.bounds"


class AOIError(ValueError):
    """An AOI that cannot be tiled; ``field`` is the dotted JSON path of the offending input."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class TileLimitError(ValueError):
    """The AOI yields more tiles than the allowed maximum."""

    def __init__(self, count: int, limit: int, grid_id: int) -> None:
        #: Tiles counted when the limit was passed: a lower bound of the AOI's total.
        self.count = count
        self.limit = limit
        self.grid_id = grid_id
        super().__init__(
            f"the AOI yields at least {count} tiles on grid {grid_id}, more than the limit of {limit}"
        )
