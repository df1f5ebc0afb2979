"""evalbatch: evaluator."""
