"""End to end with the local stack and real workers: the real clients see analysis and processing finish.

These need the workers (`workers.jobs`), the sample archive and the whole stack; they are marked e2e
automatically through the `local_stack` fixture.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import redis
from api_bodies import EVALSCRIPT
from test_api_sentinelhub_v1 import run_v1_client, v1_python  # noqa: F401 - fixture re-export

from evalbatch import accounts
from evalbatch.spec import JobSpec, split_s3_url
from evalbatch.states import RequestStatus, TileStatus
from evalbatch.store import Store

pytestmark = pytest.mark.slow

AOI = (11.97, 46.015, 12.0, 46.03)  # inside the default sample archive (ops.demo uses its surroundings)
FINAL_V2 = {"DONE", "FAILED", "STOPPED"}


@pytest.fixture(scope="module")
def stack_api(processing_stack: Any) -> Iterator[dict[str, Any]]:
    """The stack with the sample archive, the API and the workers; its URL, Redis and S3 settings."""
    settings = processing_stack.settings
    url = processing_stack.describe()["urls"]["api"]
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    client = redis.Redis.from_url(settings.redis_url)
    yield {"url": url, "redis": client, "settings": settings}
    client.close()


def test_v2_client_sees_analysis_and_processing_finish(stack_api: dict[str, Any], monkeypatch) -> None:
    from sentinelhub import CRS, BBox, DataCollection, MimeType, SentinelHubRequest, SHConfig
    from sentinelhub.api.batch import BatchProcessClient, BatchRequestStatus, monitor_batch_process_analysis
    from sentinelhub.api.utils import s3_specification

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    created = accounts.create_client(stack_api["redis"], name="e2e-v2")
    config = SHConfig(use_defaults=True)
    config.sh_client_id, config.sh_client_secret = created["client_id"], created["client_secret"]
    config.sh_base_url, config.sh_token_url = stack_api["url"], f"{stack_api['url']}/oauth/token"
    client = BatchProcessClient(config=config)
    request = SentinelHubRequest(
        evalscript=EVALSCRIPT,
        input_data=[
            SentinelHubRequest.input_data(DataCollection.SENTINEL2_L2A, time_interval=("2024-05-01", "2024-05-20"))
        ],
        responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
        bbox=BBox(AOI, crs=CRS.WGS84),
    )
    settings = stack_api["settings"]
    delivery = s3_specification(
        url=f"s3://{settings.results_bucket}/e2e-v2",
        access_key=settings.s3_access_key,
        secret_access_key=settings.s3_secret_key,
    )
    task = client.create(
        request,
        input=client.tiling_grid_input(grid_id=1, resolution=20.0),
        output=client.raster_output(delivery=delivery, cog_output=True),
        description="e2e v2",
    )
    client.start_analysis(task)
    analysed = monitor_batch_process_analysis(task, client, sleep_time=5)
    assert analysed.status is BatchRequestStatus.ANALYSIS_DONE
    client.start_job(task)
    percentages: list[float] = []
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        current = client.get_request(task)
        percentages.append(current.completion_percentage)
        if current.status.value in FINAL_V2:
            break
        time.sleep(1)
    assert current.status is BatchRequestStatus.DONE
    assert percentages == sorted(percentages) and percentages[-1] == 100
    assert current.cost_PU > 0


def test_v1_client_monitors_tiles_splits_and_restarts(stack_api: dict[str, Any], v1_python: Path) -> None:  # noqa: F811
    created = accounts.create_client(stack_api["redis"], name="e2e-v1")
    result = run_v1_client(v1_python, stack_api["url"], created, "processing", ",".join(map(str, AOI)))
    analysed = result["analysed"]
    assert analysed["status"] == "ANALYSIS_DONE" and analysed["value_estimate"] > 0
    assert len(result["tiles"]) == analysed["tile_count"] == result["pending"] == result["splitter_bboxes"]
    assert all(t["status"] == "PENDING" and t["name"] for t in result["tiles"])
    assert result["final"] == "DONE"
    assert result["monitor"].get("PROCESSED") == analysed["tile_count"]
    assert result["monitor"].get("FAILED", 0) == 0

    # a request that ended PARTIAL: restartpartial re-runs its failed tile through the workers
    request_id = result["request_id"]
    store = Store(stack_api["redis"])
    failed_tile = store.tile_ids(request_id)[0]
    store.set_tile_status(request_id, failed_tile, TileStatus.FAILED)
    # without overwrite a re-run fails on existing outputs, so remove what the "failed" tile wrote
    spec = JobSpec.from_dict(store.get_request(request_id)["spec"])
    name = store.get_tile(request_id, failed_tile)["name"]
    bucket, key = split_s3_url(spec.output_path("default", request_id, name, failed_tile))
    s3 = boto3.client(
        "s3",
        endpoint_url=stack_api["settings"].s3_endpoint_url,
        aws_access_key_id=stack_api["settings"].s3_access_key,
        aws_secret_access_key=stack_api["settings"].s3_secret_key,
        region_name=stack_api["settings"].s3_region,
    )
    s3.delete_object(Bucket=bucket, Key=key)
    store.update_request(request_id, status=RequestStatus.PARTIAL.value)
    token = httpx.post(
        f"{stack_api['url']}/oauth/token",
        data={"grant_type": "client_credentials", **{k: created[k] for k in ("client_id", "client_secret")}},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    restart = httpx.post(f"{stack_api['url']}/api/v1/batch/process/{request_id}/restartpartial", headers=headers)
    assert restart.status_code == 204
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        view = httpx.get(f"{stack_api['url']}/api/v1/batch/process/{request_id}", headers=headers).json()
        if view["status"] in {"DONE", "PARTIAL", "FAILED"}:
            break
        time.sleep(1)
    assert view["status"] == "DONE"
    assert view["tileStatusCounts"]["PROCESSED"] == analysed["tile_count"]
