"""HTTP routes: OAuth token endpoints, tiling grids, Batch API v1 and v2."""
