"""Mosaicking: samples per mode, their order, and first-valid compositing."""

from __future__ import annotations

import datetime as dt

import numpy as np
from shapely.geometry import box

from workers.catalog import LEAST_CC, LEAST_RECENT, MOST_RECENT, CatalogItem, sort_items
from workers.mosaic import ORBIT, SIMPLE, TILE, Compositor, group_samples


def item(item_id: str, day: int, hour: int = 10, cloud: float = 10.0) -> CatalogItem:
    return CatalogItem(
        id=item_id, datetime=dt.datetime(2024, 5, day, hour, tzinfo=dt.UTC), cloud_cover=cloud, epsg=32632,
        baseline="05.10", mgrs_tile="32TQR", orbit="022", geometry=box(0, 0, 1, 1), assets={},
    )


ITEMS = [
    item("a-32", 1, cloud=50), item("a-33", 1, cloud=5),  # one pass, two UTM zones
    item("b-32", 6, cloud=20), item("c-32", 11, cloud=80), item("c-33", 11, cloud=1),
]


def test_sort_orders():
    assert [i.id for i in sort_items(ITEMS, MOST_RECENT)] == ["c-33", "c-32", "b-32", "a-33", "a-32"]
    assert [i.id for i in sort_items(ITEMS, LEAST_RECENT)] == ["a-32", "a-33", "b-32", "c-32", "c-33"]
    assert [i.id for i in sort_items(ITEMS, LEAST_CC)] == ["c-33", "a-33", "b-32", "a-32", "c-32"]


def test_orbit_merges_items_of_one_day_in_order():
    samples = group_samples(sort_items(ITEMS, MOST_RECENT), ORBIT)
    assert [[i.id for i in s.items] for s in samples] == [["c-33", "c-32"], ["b-32"], ["a-33", "a-32"]]
    least_cc = group_samples(sort_items(ITEMS, LEAST_CC), ORBIT)
    assert [s.first.id for s in least_cc] == ["c-33", "a-33", "b-32"]
    assert least_cc[0].cloud_cover == np.mean([1, 80])


def test_simple_and_tile_samples():
    ordered = sort_items(ITEMS, MOST_RECENT)
    assert [len(s.items) for s in group_samples(ordered, SIMPLE)] == [5]
    assert group_samples([], SIMPLE) == []
    assert [s.first.id for s in group_samples(ordered, TILE)] == [i.id for i in ordered]


def test_compositor_takes_first_valid_pixel():
    comp = Compositor(["B04"], 4)
    comp.add({"B04": np.array([1, 1, 1, 1], np.float32)}, np.array([True, False, True, False]))
    assert not comp.complete
    comp.add({"B04": np.array([2, 2, 2, 2], np.float32)}, np.array([True, True, False, False]))
    comp.add({"B04": np.array([3, 3, 3, 3], np.float32)}, np.array([True, True, True, True]))
    np.testing.assert_array_equal(comp.values["B04"], [1, 2, 1, 3])
    assert comp.complete
