"""evalbatch: evalbatch."""
