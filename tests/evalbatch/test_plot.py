"""plot_tiles draws one patch per tile, coloured by its status, for API and client tile dicts."""

from __future__ import annotations

from types import SimpleNamespace

from matplotlib.colors import to_hex

from evalbatch.plot import STATUS_COLOURS, plot_request, plot_tiles
from evalbatch.states import TileStatus


def _square(x: float, y: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]}


def test_one_patch_per_tile_with_the_status_colour() -> None:
    tiles = [
        {"id": i, "status": status.value, "geometry": _square(i, 0)} for i, status in enumerate(TileStatus)
    ]
    figure = plot_tiles(tiles, aoi=_square(0, 0))
    patches = figure.axes[0].patches
    assert len(patches) == len(tiles)
    for patch, tile in zip(patches, tiles, strict=True):
        assert to_hex(patch.get_facecolor()) == STATUS_COLOURS[tile["status"]]
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert labels == [f"{s.value} (1)" for s in TileStatus]


def test_attribute_objects_and_multipolygons() -> None:
    multi = {"type": "MultiPolygon", "coordinates": [_square(0, 0)["coordinates"], _square(3, 0)["coordinates"]]}
    tile = SimpleNamespace(geometry=multi, status=TileStatus.FAILED)
    figure = plot_tiles([tile])
    assert len(figure.axes[0].patches) == 2
    assert {to_hex(p.get_facecolor()) for p in figure.axes[0].patches} == {STATUS_COLOURS["FAILED"]}


def test_progress_plot_has_both_series() -> None:
    figure = plot_request([[0.0, 0, 0], [60.0, 3, 1]], tile_count=4)
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert list(lines["processed"].get_ydata()) == [0, 3]
    assert list(lines["failed"].get_xdata()) == [0.0, 1.0]
