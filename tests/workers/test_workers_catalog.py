"""Catalog search against a tiny STAC API served from this test (filters, order, retries)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from workers.catalog import DataFilter, item_from_stac, search
from workers.errors import InvalidRequestError, TransientError

COLLECTION = "sentinel-2-l2a"
CONFORMS = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
]


def feature(item_id: str, when: str, cloud: float) -> dict:
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": item_id, "collection": COLLECTION,
        "geometry": {"type": "Polygon", "coordinates": [[[11, 45], [13, 45], [13, 47], [11, 47], [11, 45]]]},
        "bbox": [11, 45, 13, 47], "links": [],
        "properties": {"datetime": when, "eo:cloud_cover": cloud, "proj:code": "EPSG:32632",
                       "s2:processing_baseline": "05.10", "s2:mgrs_tile": "32TQR"},
        "assets": {"B04": {"href": f"s3://archive/{item_id}/B04.tif"}},
    }


FEATURES = [
    feature("S2A_MSIL2A_20240501T101559_R022_T32TQR_x", "2024-05-01T10:15:59Z", 10.0),
    feature("S2B_MSIL2A_20240506T101559_R022_T32TQR_x", "2024-05-06T10:15:59Z", 80.0),
    feature("S2A_MSIL2A_20240511T101559_R022_T32TQR_x", "2024-05-11T10:15:59Z", 30.0),
    feature("S2A_MSIL2A_20240530T101559_R022_T32TQR_x", "2024-05-30T10:15:59Z", 0.0),  # outside the range
]


class TinyStac(BaseHTTPRequestHandler):
    """Landing page + POST /search that ignores every filter (the client must check them itself)."""

    failures_left = 0
    searches: ClassVar[list[dict]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        root = f"http://{self.headers['Host']}"
        self._send(200, {
            "type": "Catalog", "id": "tiny", "description": "tiny", "stac_version": "1.0.0",
            "conformsTo": CONFORMS,
            "links": [{"rel": "self", "href": root + "/"}, {"rel": "root", "href": root + "/"},
                      {"rel": "search", "href": root + "/search", "method": "POST"}],
        })

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        TinyStac.searches.append(body)
        if TinyStac.failures_left > 0:
            TinyStac.failures_left -= 1
            self._send(503, {"code": "Unavailable", "description": "try again"})
            return
        self._send(200, {"type": "FeatureCollection", "features": FEATURES, "links": []})


@pytest.fixture
def stac_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TinyStac)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    TinyStac.searches = []
    TinyStac.failures_left = 0
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def data(order: str = "mostRecent", max_cloud: float | None = None) -> dict:
    flt: dict = {"timeRange": {"from": "2024-05-01T00:00:00Z", "to": "2024-05-20T23:59:59Z"},
                 "mosaickingOrder": order}
    if max_cloud is not None:
        flt["maxCloudCoverage"] = max_cloud
    return {"type": COLLECTION, "dataFilter": flt}


AOI = {"type": "Polygon", "coordinates": [[[11.9, 46], [12.1, 46], [12.1, 46.1], [11.9, 46.1], [11.9, 46]]]}


def test_search_filters_and_orders_client_side(stac_url):
    flt = DataFilter.from_data(data("mostRecent", max_cloud=50), COLLECTION)
    items = search(stac_url, flt, AOI)
    assert [i.datetime.day for i in items] == [11, 1]  # 80 % cloudy and out-of-range items dropped
    sent = TinyStac.searches[0]
    assert sent["collections"] == [COLLECTION]
    assert sent["query"] == {"eo:cloud_cover": {"lte": 50.0}}
    assert sent["intersects"] == AOI
    assert sent["datetime"].startswith("2024-05-01T00:00:00")
    least_cc = search(stac_url, DataFilter.from_data(data("leastCC"), COLLECTION), AOI)
    assert [i.cloud_cover for i in least_cc] == [10.0, 30.0, 80.0]
    oldest = search(stac_url, DataFilter.from_data(data("leastRecent"), COLLECTION), AOI)
    assert [i.datetime.day for i in oldest] == [1, 6, 11]


def test_search_retries_transient_http_errors(stac_url):
    TinyStac.failures_left = 2
    assert len(search(stac_url, DataFilter.from_data(data(), COLLECTION), AOI)) == 3
    TinyStac.failures_left = 100
    with pytest.raises(TransientError, match="STAC search failed"):
        search(stac_url, DataFilter.from_data(data(), COLLECTION), AOI)


def test_item_fields_and_bad_filters():
    item = item_from_stac(FEATURES[0])
    assert item.epsg == 32632 and item.orbit == "022" and item.baseline == "05.10"
    assert item.assets["B04"].endswith("B04.tif") and item.day == "2024-05-01"
    with pytest.raises(InvalidRequestError, match="not available"):
        DataFilter.from_data({"type": "sentinel-1-grd", "dataFilter": data()["dataFilter"]}, COLLECTION)
    with pytest.raises(InvalidRequestError, match="mosaickingOrder"):
        DataFilter.from_data(data("random"), COLLECTION)
    with pytest.raises(InvalidRequestError, match="timeRange"):
        DataFilter.from_data({"type": COLLECTION, "dataFilter": {}}, COLLECTION)
