"""The real `sentinelhub` 3.12 v2 client (`BatchProcessClient`) against a uvicorn server, unmodified."""

from __future__ import annotations

import pytest
import redis
from api_support import RESULTS_BUCKET, LiveServer
from support.api_accounts import TEST_S3_KEY, TEST_S3_SECRET

from evalbatch import accounts

sentinelhub = pytest.importorskip("sentinelhub")
from sentinelhub import (  # noqa: E402
    CRS,
    BBox,
    DataCollection,
    MimeType,
    SentinelHubRequest,
    SHConfig,
)
from sentinelhub.api.batch import (  # noqa: E402
    BatchProcessClient,
    BatchProcessRequest,
    BatchRequestStatus,
    BatchUserAction,
)
from sentinelhub.api.utils import s3_specification  # noqa: E402

EVALSCRIPT = """//VERSION=3
function setup() { return {input: ["B04"], output: {bands: 1}}; }
function evaluatePixel(s) { return [s.B04]; }
"""


@pytest.fixture
def sh_config(live_server: LiveServer, redis_conn: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> SHConfig:
    """A client configuration pointing both URLs at evalbatch, with fresh credentials."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    created = accounts.create_client(redis_conn, name="sentinelhub-v2")
    config = SHConfig(use_defaults=True)
    config.sh_client_id = created["client_id"]
    config.sh_client_secret = created["client_secret"]
    config.sh_base_url = live_server.url
    config.sh_token_url = f"{live_server.url}/oauth/token"
    config.max_download_attempts = 1
    return config


def _create(client: BatchProcessClient, description: str) -> BatchProcessRequest:
    request = SentinelHubRequest(
        evalscript=EVALSCRIPT,
        input_data=[
            SentinelHubRequest.input_data(
                data_collection=DataCollection.SENTINEL2_L2A, time_interval=("2024-06-01", "2024-06-10")
            )
        ],
        responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
        bbox=BBox((12.2, 41.2, 12.4, 41.4), crs=CRS.WGS84),
    )
    return client.create(
        request,
        input=client.tiling_grid_input(grid_id=3, resolution=0.0002, buffer_x=2, buffer_y=2),
        output=client.raster_output(
            delivery=s3_specification(
                url=f"s3://{RESULTS_BUCKET}/sh-v2/<tileName>/<outputId>.<format>",
                access_key=TEST_S3_KEY,
                secret_access_key=TEST_S3_SECRET,
            ),
            cog_output=True,
        ),
        description=description,
    )


def test_v2_client_lifecycle_without_workers(sh_config: SHConfig) -> None:
    client = BatchProcessClient(config=sh_config)
    grids = list(client.iter_tiling_grids())
    assert [g["id"] for g in grids] == [0, 1, 2, 3, 6, 7]
    assert client.get_tiling_grid(0)["name"] == "UTM 20km grid"

    task = _create(client, "v2 client test")
    assert task.status is BatchRequestStatus.CREATED
    assert task.user_action is BatchUserAction.NONE
    assert task.completion_percentage == 0
    assert task.request["input"]["bufferX"] == 2
    assert "secretAccessKey" not in str(task.request)

    fetched = client.get_request(task)
    assert fetched.request_id == task.request_id and fetched.domain_account_id == task.domain_account_id

    second = _create(client, "another one")
    listed = [r.request_id for r in client.iter_requests()]
    assert listed == [task.request_id, second.request_id]

    client.update_request(task, description="renamed")
    assert client.get_request(task).request["description"] == "renamed"

    client.start_analysis(task)
    analysing = client.get_request(task)
    assert analysing.status is BatchRequestStatus.ANALYSING
    assert analysing.user_action is BatchUserAction.ANALYSE

    client.stop_job(task)
    stopped = client.get_request(task)
    assert stopped.status is BatchRequestStatus.STOPPED
    assert stopped.user_action is BatchUserAction.STOP
    assert stopped.stopped_status_reason.value == "USER_ACTION"

    client.start_job(second)
    assert client.get_request(second).user_action is BatchUserAction.START
