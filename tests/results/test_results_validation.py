"""Offline validation of results documents with validators built once per process: the same verdict as
pystac's own `validate_dict`, and a collection is validated when it is created, not on every tile."""

from __future__ import annotations

import httpx
import pystac.validation
import pytest
from shapely.geometry import mapping
from support.batch_requests import make_spec

from workers import results_stac
from workers.results_stac import ResultsCatalog, StacDocumentError, collection_document, validate_document
from workers.tilegrid import TileGrid

GRID = {"epsg": 32632, "origin": {"type": "Point", "coordinates": [7e5, 5.1e6]}, "resolution": 60, "widthPx": 4,
        "heightPx": 4}
TILE = {"id": 0, "name": "T0", **GRID, "geometry": mapping(TileGrid.from_tile(GRID).footprint())}
SPEC = make_spec("//VERSION=3")


def item() -> dict:
    return results_stac.item_document("r", SPEC, TILE, {"default": "s3://b/k.tif"}, ["a"], "http://stac")


def broken_documents() -> list[dict]:
    good_item, collection = item(), collection_document("r", SPEC)
    return [
        {**good_item, "geometry": {"type": "Polygon", "coordinates": "nope"}},
        {**good_item, "assets": {"default": {"type": "image/tiff"}}},  # no href
        {**good_item, "links": [{"rel": "self"}]},
        {**good_item, "properties": {**good_item["properties"], "datetime": None}},
        {k: v for k, v in collection.items() if k != "extent"},
        {**collection, "license": 7},
    ]


def pystac_accepts(document: dict) -> bool:
    try:
        pystac.validation.validate_dict({**document, "stac_extensions": []})
    except pystac.errors.STACValidationError:
        return False
    return True


@pytest.mark.parametrize("document", [item(), collection_document("r", SPEC), *broken_documents()])
def test_the_verdict_is_pystacs(document):
    try:
        validate_document(document)
        accepted = True
    except StacDocumentError:
        accepted = False
    assert accepted == pystac_accepts(document)


def test_the_core_validators_exist_before_any_tile():
    info = results_stac.core_validator.cache_info()
    assert info.currsize >= 2  # item and collection, built at import (before the rq fork)


def recording_catalog(collection_exists: bool) -> tuple[ResultsCatalog, list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.method == "GET":
            return httpx.Response(200 if collection_exists else 404, json={})
        return httpx.Response(201, json={})

    client = httpx.Client(base_url="http://stac", transport=httpx.MockTransport(handle))
    return ResultsCatalog("http://stac", client=client), seen


def test_an_invalid_collection_is_never_created():
    catalog, seen = recording_catalog(collection_exists=False)
    with catalog, pytest.raises(StacDocumentError):
        catalog.ensure_collection({**collection_document("r", SPEC), "license": 7})
    assert seen == [("GET", "/collections/batch-r")]


def test_a_collection_is_validated_and_created_once():
    catalog, seen = recording_catalog(collection_exists=False)
    with catalog:
        assert catalog.ensure_collection(collection_document("r", SPEC))
    assert seen == [("GET", "/collections/batch-r"), ("POST", "/collections")]
    catalog, seen = recording_catalog(collection_exists=True)
    with catalog:
        assert not catalog.ensure_collection(collection_document("r", SPEC))
    assert seen == [("GET", "/collections/batch-r")]
