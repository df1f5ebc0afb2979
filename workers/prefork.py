"""Clients made once in the rq worker process, before it forks a work horse per job, so that no tile pays
for them: boto3's default session with the S3 service model loaded, and the S3 client of the deployment's
own credentials with its endpoint rules resolved, and rasterio's AWS session of those credentials (together
tens of milliseconds per work horse otherwise).

workers.launch calls `warm_up` in the worker process, which never uses the client itself; a horse inherits it
without any open connection. Elsewhere clients are created on first use. boto3 clients are thread-safe.
"""

from __future__ import annotations

from evalbatch.objectstore import S3Credentials, rasterio_session, shared_s3_client
from evalbatch.settings import Settings

WARM_UP_BUCKET = "evalbatch-warm-up"  # a name only presigned, never requested


def warm_up() -> None:
    """Create the deployment's S3 client (and with it boto3's default session) and resolve an upload's
    endpoint once (presigning is local: it opens no connection), which botocore otherwise works out lazily
    on the first request of every work horse."""
    creds = S3Credentials.from_settings(Settings())  # not get_settings(): it warns (dev keys)
    client = shared_s3_client(creds)
    rasterio_session(creds)  # GDAL's S3 credentials for reads and COG writes: a boto3 session of its own
    client.generate_presigned_url("put_object", Params={"Bucket": WARM_UP_BUCKET, "Key": WARM_UP_BUCKET})
