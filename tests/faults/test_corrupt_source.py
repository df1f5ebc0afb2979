"""A truncated COG in the archive: the tiles that read it end FAILED naming the object after their retries, the
others are PROCESSED (request PARTIAL; FAILED when every tile reads it), and nothing loops."""

from __future__ import annotations

from fault_helpers import assert_consistent
from support.batch_requests import ORBIT_COUNT, make_spec, submit, wait_final

from evalbatch.states import RequestStatus, TileStatus

TRUNCATED_BYTES = 2048  # the TIFF header survives, the image data does not


def test_truncated_cog_fails_its_tiles_only(fault_store, fault_stack):
    settings = fault_stack.settings
    s3 = fault_stack.s3.client()
    clean = submit(fault_store, make_spec(ORBIT_COUNT, tile_path="s3://results/corrupt-before", overwrite=True))
    assert wait_final(fault_store, clean)["status"] == RequestStatus.DONE
    scenes_of = {t["id"]: set(t["scenes"]) for t in assert_consistent(fault_store, clean)}
    # the scene read by the fewest tiles (a PARTIAL request when some tiles do not read it)
    scene = min(sorted(set().union(*scenes_of.values())),
                key=lambda s: sum(s in read for read in scenes_of.values()))
    readers = {tile_id for tile_id, read in scenes_of.items() if scene in read}
    key = next(o["Key"] for o in s3.list_objects_v2(Bucket=settings.archive_bucket)["Contents"]
               if f"/{scene}/B04" in o["Key"])
    original = s3.get_object(Bucket=settings.archive_bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=settings.archive_bucket, Key=key, Body=original[:TRUNCATED_BYTES])
    try:
        request_id = submit(fault_store, make_spec(ORBIT_COUNT, tile_path="s3://results/corrupt", overwrite=True))
        record = wait_final(fault_store, request_id)
    finally:
        s3.put_object(Bucket=settings.archive_bucket, Key=key, Body=original)
    tiles = assert_consistent(fault_store, request_id)
    expected = RequestStatus.PARTIAL if len(readers) < len(tiles) else RequestStatus.FAILED
    assert record["status"] == expected, record.get("error")
    failed = {t["id"] for t in tiles if t["status"] == TileStatus.FAILED}
    assert failed == readers
    for tile in tiles:
        if tile["id"] in failed:
            assert key in tile["error"], tile["error"]
            assert int(tile["attempts"]) == settings.tile_retries + 1  # retried, then permanent
            assert not tile.get("outputs")
        else:
            assert tile["status"] == TileStatus.PROCESSED and tile["outputs"]
