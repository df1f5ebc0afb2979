"""What the dashboard page needs from the server side: the tile status colours and the poll interval.

The tile colours come from `evalbatch.plot.STATUS_COLOURS`, so the dashboard and the notebook plots agree;
the stylesheet of the colours and the page's JSON configuration are both generated from it here.
"""

from __future__ import annotations

from typing import Any

from evalbatch.plot import STATUS_COLOURS

POLL_INTERVAL_MS = 2000
UNKNOWN_STATUS_COLOUR = "#000000"


def page_config() -> dict[str, Any]:
    """The JSON configuration the page loads at start (`/dashboard/config.json`)."""
    return {
        "statusColours": dict(STATUS_COLOURS),
        "pollIntervalMs": POLL_INTERVAL_MS,
    }


def status_stylesheet() -> str:
    """CSS giving every tile status its colour: SVG tile fills and legend swatches (`/dashboard/status.css`)."""
    rules = [
        f'.tile {{ fill: {UNKNOWN_STATUS_COLOUR}; }}',
        *(
            f'.tile[data-status="{status}"], .swatch[data-status="{status}"] {{ fill: {colour}; '
            f"background-color: {colour}; }}"
            for status, colour in STATUS_COLOURS.items()
        ),
    ]
    return "\n".join(rules) + "\n"
