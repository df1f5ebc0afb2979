"""Process memory ceiling for workers that run evalscripts.

V8's heap limit (``Evalscript.session(max_heap_bytes=...)``) does not count ArrayBuffer and typed
array backing stores (spec §11.3): a hostile script can allocate gigabytes of ``Float64Array``s
under a 100 MB heap limit. The worker process therefore caps its memory with an OS limit before it
runs any script.

The limit is ``RLIMIT_DATA``, not ``RLIMIT_AS``: V8 (mini-racer 0.14, with the V8 sandbox and
PartitionAlloc) reserves about 1 TiB of *address space* at start-up, so any ``RLIMIT_AS`` below that
makes V8 abort with ``partition_address_space.cc: Check failed`` before a script runs (measured).
``RLIMIT_DATA`` counts only writable private memory actually mapped, so it leaves the reservation
alone and still stops typed-array hoarding: with a 2 GiB cap, allocating 1 GiB ``Float64Array``s
fails on the second with ``RangeError: Array buffer allocation failed``, which reaches the caller
as an ``EvalscriptRuntimeError`` while the worker process lives on.
"""

from __future__ import annotations

import resource


def apply_memory_limit(limit_bytes: int) -> tuple[int, int]:
    """Lower this process's RLIMIT_DATA soft limit to ``limit_bytes``; returns the previous (soft, hard).

    The hard limit is kept, so ``resource.setrlimit(resource.RLIMIT_DATA, previous)`` undoes it.
    Call it once at worker start-up; the cap covers everything the process allocates (numpy
    arrays, GDAL caches, V8 heaps and pixel buffers), so leave headroom above the largest tile.
    """
    previous = resource.getrlimit(resource.RLIMIT_DATA)
    soft_cap = limit_bytes if previous[1] == resource.RLIM_INFINITY else min(limit_bytes, previous[1])
    resource.setrlimit(resource.RLIMIT_DATA, (soft_cap, previous[1]))
    return previous
