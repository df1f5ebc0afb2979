"""Predefined tiling grids: definitions, UTM/MGRS arithmetic and tile names (pure, no I/O)."""

from grids.definitions import GRIDS, CrsKind, Grid, Unit, UnknownGridError, get_grid

__all__ = ["GRIDS", "CrsKind", "Grid", "Unit", "UnknownGridError", "get_grid"]
