"""evalbatch: api."""
