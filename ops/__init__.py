"""evalbatch: ops."""
