"""Every Redis key and rq job id evalbatch uses, formatted in exactly one place."""

from __future__ import annotations

PREFIX = "eb"


def request(request_id: str) -> str:
    """HASH of one request: field -> JSON-encoded value."""
    return f"{PREFIX}:req:{request_id}"


def account_requests(account_id: str, api_version: int) -> str:
    """ZSET of an account's request ids for one API version, scored by creation time (ms * 1000 + seq)."""
    return f"{PREFIX}:acct:{account_id}:v{api_version}:requests"


def request_sequence() -> str:
    """STRING counter that orders requests created within the same millisecond."""
    return f"{PREFIX}:seq:requests"


def request_secrets(request_id: str) -> str:
    """STRING: JSON of the delivery credentials of a v2 request (never echoed)."""
    return f"{PREFIX}:req:{request_id}:secrets"


def tiles(request_id: str) -> str:
    """HASH tile id -> JSON of the tile's static description (written once by the analysis)."""
    return f"{PREFIX}:req:{request_id}:tiles"


def tile_status(request_id: str) -> str:
    """HASH tile id -> TileStatus."""
    return f"{PREFIX}:req:{request_id}:tilestatus"


def tile_info(request_id: str) -> str:
    """HASH tile id -> JSON of the tile's run record (attempts, error, timings, memory, inputs, outputs)."""
    return f"{PREFIX}:req:{request_id}:tileinfo"


def tile_index(request_id: str, status: str = "ALL") -> str:
    """ZSET of tile ids (score = id) of one status, or of all tiles with status "ALL"."""
    return f"{PREFIX}:req:{request_id}:tileidx:{status}"


def scene_items(request_id: str) -> str:
    """HASH item index -> compact STAC JSON of one catalog item of the request's cached search."""
    return f"{PREFIX}:req:{request_id}:scenes:items"


def scene_tiles(request_id: str) -> str:
    """HASH tile id -> comma-separated item indices of the cached search, plus its fingerprint field."""
    return f"{PREFIX}:req:{request_id}:scenes:tiles"


def unregistered_tiles(request_id: str) -> str:
    """SET of the ids of delivered tiles whose results STAC item could not be registered yet."""
    return f"{PREFIX}:req:{request_id}:unregistered"


def tile_jobs(request_id: str) -> str:
    """HASH tile id -> id of the rq job that runs it (a job runs one tile, or a batch of small ones)."""
    return f"{PREFIX}:req:{request_id}:tilejobs"


def progress(request_id: str) -> str:
    """LIST of JSON points [unix time, processed, failed] appended as tiles finish."""
    return f"{PREFIX}:req:{request_id}:progress"


def client(client_id: str) -> str:
    """HASH of one OAuth client: account id, name, salted secret hash."""
    return f"{PREFIX}:client:{client_id}"


def rate_window(account_id: str, window: int) -> str:
    """STRING counter of an account's API calls in one rate-limit window."""
    return f"{PREFIX}:rate:{account_id}:{window}"


def request_keys(request_id: str) -> list[str]:
    """All keys that belong to one request (for delete)."""
    from evalbatch.states import TileStatus

    return [
        request(request_id),
        request_secrets(request_id),
        tiles(request_id),
        tile_status(request_id),
        tile_info(request_id),
        tile_index(request_id),
        progress(request_id),
        scene_items(request_id),
        scene_tiles(request_id),
        unregistered_tiles(request_id),
        tile_jobs(request_id),
        *(tile_index(request_id, s.value) for s in TileStatus),
    ]


# --- rq job ids (letters, digits, "_" and "-" only) ---------------------------------------------------


def analyse_job_id(request_id: str) -> str:
    """The rq job id of a request's analysis."""
    return f"analyse-{request_id}"


def start_job_id(request_id: str) -> str:
    """The rq job id of the job that fans a request's tiles out."""
    return f"start-{request_id}"


def register_job_id(request_id: str) -> str:
    """The rq job id of the job that registers the results items a catalog outage left out."""
    return f"register-{request_id}"


def tile_job_id(request_id: str, tile_id: int) -> str:
    """The rq job id of the tile job that starts with tile `tile_id` (the only tile of a job, or the first of
    a batch)."""
    return f"tile-{request_id}-{tile_id}"


def finalize_job_id(request_id: str) -> str:
    """The rq job id of the job that sets a request's final status."""
    return f"finalize-{request_id}"
