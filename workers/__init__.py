"""evalbatch: workers."""
