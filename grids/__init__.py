"""evalbatch: grids."""
