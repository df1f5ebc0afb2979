"""The workers' temporary directory on a full filesystem (a 64 KiB tmpfs): the tile fails with "No space left"
after its retries, the worker survives, and nothing partial appears under the final output key."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fault_helpers import assert_consistent, worker_pids
from support.batch_requests import ORBIT_COUNT, make_spec, submit, wait_final

from evalbatch.spec import split_s3_url
from evalbatch.states import RequestStatus, TileStatus

# below one block of a tile's temporary GeoTIFF (256 x 256 UINT16 = 128 KiB). Not 1 MiB: GDAL leaves the blocks
# that are all zero unwritten (sparse), so a tile mostly outside the archive needs only a few blocks, and tiles then
# failed only when two of them ran at once.
TMPFS_SIZE = "64k"


@contextmanager
def tiny_tmpfs() -> Iterator[Path]:
    """A mounted tmpfs of TMPFS_SIZE (skips the test when mounting is not permitted)."""
    mountpoint = Path(tempfile.mkdtemp(prefix="evalbatch-full-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mountpoint)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        mountpoint.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=False)
        mountpoint.rmdir()


@contextmanager
def workers_with_tmpdir(stack, tmpdir: Path) -> Iterator[None]:
    """Replace the stack's workers with workers whose TMPDIR is `tmpdir`; the usual ones come back after."""
    count = len(stack.workers.running())
    stack.workers.stop()
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmpdir)
    try:
        stack.start_workers(count)
    finally:
        if previous is None:
            os.environ.pop("TMPDIR")
        else:
            os.environ["TMPDIR"] = previous
    try:
        yield
    finally:
        stack.workers.stop()
        stack.start_workers(count)


def test_full_temp_dir_fails_tiles_cleanly(fault_store, fault_stack):
    with tiny_tmpfs() as full, workers_with_tmpdir(fault_stack, full):
        pids = worker_pids(fault_stack)
        request_id = submit(fault_store, make_spec(ORBIT_COUNT, resolution=20.0, tile_path="s3://results/disk-full",
                                                   overwrite=True))
        record = wait_final(fault_store, request_id)
        assert worker_pids(fault_stack) == pids  # the workers survived
    assert record["status"] == RequestStatus.FAILED, record.get("error")
    tiles = assert_consistent(fault_store, request_id)
    for tile in tiles:
        assert tile["status"] == TileStatus.FAILED
        assert "No space left" in tile["error"], tile["error"]
    bucket, prefix = split_s3_url(f"s3://results/disk-full/{request_id}/")
    listed = fault_stack.s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert listed.get("KeyCount", 0) == 0, [o["Key"] for o in listed.get("Contents", [])]
