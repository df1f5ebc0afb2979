"""Plots for notebooks: tile footprints coloured by status, and a request's progress over time.

`plot_tiles` accepts the tile dicts of the v1 API (`GET .../tiles`), the dicts that the `sentinelhub`
client's `iter_tiles` yields (the same JSON), or tile objects with `geometry` and `status` attributes.
Both functions build a `matplotlib.figure.Figure` without pyplot, so they work headless.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon
from shapely.geometry import shape

from evalbatch.states import TileStatus

STATUS_COLOURS: dict[str, str] = {
    TileStatus.PENDING.value: "#bdbdbd",
    TileStatus.SCHEDULED.value: "#9ecae1",
    TileStatus.QUEUED.value: "#4292c6",
    TileStatus.PROCESSING.value: "#fd8d3c",
    TileStatus.PROCESSED.value: "#31a354",
    TileStatus.FAILED.value: "#de2d26",
}


def _tile_fields(tile: Any) -> tuple[dict[str, Any], str]:
    if isinstance(tile, Mapping):
        return tile["geometry"], str(tile["status"])
    status = tile.status
    return tile.geometry, str(getattr(status, "value", status))


def _exterior_rings(geometry: Mapping[str, Any]) -> list[list[tuple[float, float]]]:
    geom = shape(geometry)
    polygons = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    return [list(p.exterior.coords) for p in polygons]


def plot_tiles(
    tiles: Iterable[Any], aoi: Mapping[str, Any] | None = None, title: str | None = None
) -> Figure:
    """A map of tile footprints (lon/lat) coloured by status, with a legend of counts and the AOI outline.

    `aoi` is a GeoJSON geometry in WGS84 (e.g. `processRequest.input.bounds.geometry`), or None.
    """
    figure = Figure(figsize=(7, 6), layout="constrained")
    axes = figure.add_subplot()
    counts: Counter[str] = Counter()
    for tile in tiles:
        geometry, status = _tile_fields(tile)
        counts[status] += 1
        colour = STATUS_COLOURS.get(status, "#000000")
        for ring in _exterior_rings(geometry):
            patch = Polygon(ring, closed=True, facecolor=colour, edgecolor="#333333", linewidth=0.6, alpha=0.85)
            patch.set_gid(status)
            axes.add_patch(patch)
    if aoi is not None:
        for ring in _exterior_rings(aoi):
            xs, ys = zip(*ring, strict=True)
            axes.plot(xs, ys, color="#08306b", linewidth=1.8, label="AOI")
    axes.autoscale_view()
    axes.set_aspect("equal", adjustable="datalim")
    axes.set_xlabel("longitude (°)")
    axes.set_ylabel("latitude (°)")
    axes.set_title(title or f"{sum(counts.values())} tiles")
    handles = [
        Patch(facecolor=colour, edgecolor="#333333", label=f"{status} ({counts.get(status, 0)})")
        for status, colour in STATUS_COLOURS.items()
    ]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return figure


def plot_request(
    progress: Sequence[Sequence[float]], tile_count: int, title: str | None = None
) -> Figure:
    """Processed and failed tiles over time from progress points `[unix time, processed, failed]`."""
    figure = Figure(figsize=(7, 3.5), layout="constrained")
    axes = figure.add_subplot()
    if progress:
        start = progress[0][0]
        minutes = [(p[0] - start) / 60 for p in progress]
        axes.plot(minutes, [p[1] for p in progress], color=STATUS_COLOURS["PROCESSED"], label="processed")
        axes.plot(minutes, [p[2] for p in progress], color=STATUS_COLOURS["FAILED"], label="failed")
    axes.axhline(tile_count, color="#333333", linestyle="--", linewidth=0.8, label="tiles")
    axes.set_xlabel("minutes since the first finished tile")
    axes.set_ylabel("tiles")
    axes.set_title(title or "progress")
    axes.legend(loc="lower right", fontsize="small")
    return figure
