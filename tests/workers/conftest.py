"""Fixtures of the workers tests: the shared `processing_stack` and `store` come from tests/conftest.py."""
