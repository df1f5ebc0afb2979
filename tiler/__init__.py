"""AOI parsing, AOI × grid tiling and processing-unit cost."""

from tiler import cost
from tiler.aoi import AOI, parse_bounds
from tiler.errors import AOIError, TileLimitError
from tiler.tile import Tile
from tiler.tiling import count_tiles, tiles_for_aoi

__all__ = ["AOI", "AOIError", "Tile", "TileLimitError", "cost", "count_tiles", "parse_bounds", "tiles_for_aoi"]
