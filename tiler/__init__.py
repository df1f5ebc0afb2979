"""evalbatch: tiler."""
