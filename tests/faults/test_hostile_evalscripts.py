"""Hostile evalscripts through the real workers: each fails its request with a clear message, and the same
worker processes keep serving (a normal request afterwards completes)."""

from __future__ import annotations

import numpy as np
import pytest
from fault_helpers import NDVI, worker_pids
from support.batch_requests import all_tiles, make_spec, read_s3_tiff, submit, wait_final

from evalbatch.states import RequestStatus

SETUP = 'function setup() { return {input: ["B04"], output: {bands: 1}}; }\n'
PIXEL = "function evaluatePixel(s) { return [s.B04]; }\n"


def script(body: str, setup: str = SETUP, pixel: str = PIXEL) -> str:
    """A v3 evalscript with `body` at the top level."""
    return f"//VERSION=3\n{body}\n{setup}{pixel}"


HOSTILE = {
    "infinite-loop": (script("while (true) {}"), ("time",)),
    "exponential-memory": (script("var a = []; while (true) { a.push(new Array(1 << 20).fill(1)); }"),
                           ("memory", "heap")),
    "deep-recursion": (script("function f(n) { return f(n + 1) + 1; } f(0);"), ("call stack", "recursion")),
    "huge-band-count": (script("", setup='function setup() { return {input: ["B04"], output: {bands: 100000}}; }\n',
                               pixel="function evaluatePixel(s) { return new Array(100000).fill(s.B04); }\n"),
                        ("band",)),
    "require": (script('var fs = require("fs");'), ("require",)),
    "process": (script("var env = process.env;"), ("process",)),
    "fetch": (script('fetch("http://127.0.0.1/");'), ("fetch",)),
    "xmlhttprequest": (script("var x = new XMLHttpRequest();"), ("XMLHttpRequest",)),
    # eval and the Function constructor are allowed (public scripts evaluate formula strings, evalscript-v3.md
    # §8), but what they run is sandboxed like the rest of the script
    "eval-of-strings": (script('var fs = eval("require(\'fs\')");'), ("require",)),
    "function-constructor": (script('var env = Function("return process.env")();'), ("process",)),
}

# import() has no module loader behind it: the promise never resolves to a module (0 pending, 2 rejected)
DYNAMIC_IMPORT = """//VERSION=3
var loaded = 0;
import("fs").then(function () { loaded = 1; }, function () { loaded = 2; });
function setup() { return {input: ["B04"], output: {bands: 1, sampleType: "UINT8"}}; }
function evaluatePixel(s) { return [loaded]; }
"""


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_script_fails_cleanly_and_workers_survive(fault_store, fault_stack, name):
    source, words = HOSTILE[name]
    pids = worker_pids(fault_stack)
    request_id = submit(fault_store, make_spec(source, tile_path=f"s3://results/hostile-{name}", overwrite=True))
    record = wait_final(fault_store, request_id, timeout_s=180)
    tile_errors = [t.get("error") or "" for t in all_tiles(fault_store, request_id)]
    message = " | ".join([record.get("error") or "", *tile_errors])
    assert record["status"] == RequestStatus.FAILED, (record["status"], message)
    assert any(word.lower() in message.lower() for word in words), message
    assert worker_pids(fault_stack) == pids  # the same worker processes: the script ran in a work horse


def test_dynamic_import_loads_nothing(fault_store, fault_stack):
    request_id = submit(fault_store, make_spec(DYNAMIC_IMPORT, tile_path="s3://results/hostile-import",
                                               overwrite=True))
    record = wait_final(fault_store, request_id)
    assert record["status"] == RequestStatus.DONE, record.get("error")
    s3 = fault_stack.s3.client()
    for tile in all_tiles(fault_store, request_id):
        data, _ = read_s3_tiff(s3, tile["outputs"]["default"])
        assert set(np.unique(data)) <= {0, 2}  # never 1: no module was ever loaded


def test_workers_still_serve_after_hostile_scripts(fault_store, fault_stack):
    pids = worker_pids(fault_stack)
    request_id = submit(fault_store, make_spec(NDVI, tile_path="s3://results/hostile-after", overwrite=True))
    record = wait_final(fault_store, request_id)
    assert record["status"] == RequestStatus.DONE, record.get("error")
    assert worker_pids(fault_stack) == pids
