"""COG delivery and the per-process S3 clients: one PUT for small COGs, a multipart upload for large ones,
the same object either way; one client per credentials, made before the worker forks."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from evalbatch.objectstore import S3Credentials, shared_s3_client
from workers import output
from workers.output import SINGLE_PUT_MAX_BYTES, deliver_cog

CREDS = S3Credentials("https://s3.amazonaws.com", "key", "secret", "us-east-1")


@pytest.mark.parametrize("size", [1000, SINGLE_PUT_MAX_BYTES + 1])
def test_a_cog_arrives_complete_whatever_its_size(tmp_path, size, monkeypatch):
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path = tmp_path / "out.tif"
    path.write_bytes(body)
    uploads = []
    real_upload = output.upload_file
    monkeypatch.setattr(output, "upload_file", lambda *args: uploads.append(args) or real_upload(*args))
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="results")
        deliver_cog(client, path, "s3://results/r/T1/default.tif")
        stored = client.get_object(Bucket="results", Key="r/T1/default.tif")
    assert stored["Body"].read() == body
    assert stored["ContentType"] == output.TIFF_TYPE
    assert len(uploads) == (1 if size > SINGLE_PUT_MAX_BYTES else 0)  # multipart only for large COGs


def test_one_s3_client_per_credentials():
    other = S3Credentials(CREDS.endpoint_url, "other-key", "other-secret", CREDS.region)
    client = shared_s3_client(CREDS)
    assert shared_s3_client(CREDS) is client
    assert shared_s3_client(other) is not client
    assert client.meta.endpoint_url == CREDS.endpoint_url
