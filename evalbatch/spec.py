"""The version-independent description of what a batch request asks the workers to do.

The API validates a v1 or v2 create body and turns it into a `JobSpec`, stored with the request (field
`spec`); the workers read only the `JobSpec`, so they never need to know which API version created it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PLACEHOLDERS = ("<requestId>", "<tileName>", "<tileId>", "<outputId>", "<format>")
DEFAULT_PATH_SUFFIX = "<requestId>/<tileName>/<outputId>.<format>"
FORMAT_EXTENSIONS = {"image/tiff": "tiff", "application/json": "json"}
USERDATA_ID = "userdata"


@dataclass
class JobSpec:
    """Everything a worker needs to analyse and process a request."""

    api_version: int
    grid_id: int
    resolution: float
    evalscript: str
    bounds: dict[str, Any]  # processRequest.input.bounds, with properties.crs filled in
    data: list[dict[str, Any]]  # processRequest.input.data
    responses: list[dict[str, Any]]  # processRequest.output.responses: [{identifier, format: {type}}]
    tile_path: str  # default object path template (s3://bucket/...), always with placeholders
    buffer_x: int = 0
    buffer_y: int = 0
    response_paths: dict[str, str] = field(default_factory=dict)  # identifier -> path template override
    overwrite: bool = False
    skip_existing: bool = False
    cog_output: bool = True
    cog_parameters: dict[str, Any] = field(default_factory=dict)
    delivery_root: str | None = None  # v2: where request JSON, feature manifest and execution DB go
    max_processing_units: float | None = None  # budget guard (extension)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobSpec:
        """The inverse of `to_dict`."""
        return cls(**data)

    def output_path(self, identifier: str, request_id: str, tile_name: str, tile_id: int) -> str:
        """The object URL (s3://bucket/key) of one output of one tile."""
        template = self.response_paths.get(identifier, self.tile_path)
        return fill_template(template, request_id, tile_name, tile_id, identifier, self.format_of(identifier))

    def format_of(self, identifier: str) -> str:
        """File extension of an output: `tiff` or `json`."""
        for response in self.responses:
            if response.get("identifier") == identifier:
                mime = (response.get("format") or {}).get("type", "image/tiff")
                return FORMAT_EXTENSIONS.get(mime, "tiff")
        return "json" if identifier == USERDATA_ID else "tiff"


def has_placeholder(path: str) -> bool:
    """Whether a path contains any template placeholder."""
    return any(p in path for p in PLACEHOLDERS)


def normalise_tile_path(path: str) -> str:
    """A template for `path`: a plain prefix gets the default `<requestId>/<tileName>/<outputId>.<format>`."""
    if has_placeholder(path):
        return path
    return path.rstrip("/") + "/" + DEFAULT_PATH_SUFFIX


def delivery_root(path: str) -> str:
    """The longest placeholder-free prefix of a template ending in `/` (the URL itself when plain)."""
    if not has_placeholder(path):
        return path.rstrip("/") + "/"
    first = min(path.index(p) for p in PLACEHOLDERS if p in path)
    return path[: path.rindex("/", 0, first) + 1]


def fill_template(
    template: str, request_id: str, tile_name: str, tile_id: int, output_id: str, fmt: str
) -> str:
    """Replace every placeholder of a path template."""
    return (
        template.replace("<requestId>", request_id)
        .replace("<tileName>", tile_name)
        .replace("<tileId>", str(tile_id))
        .replace("<outputId>", output_id)
        .replace("<format>", fmt)
    )


def split_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://bucket/key` URL; raises ValueError for anything else."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {url!r}")
    return bucket, key
