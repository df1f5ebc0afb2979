"""Helpers behind the shared test fixtures (tests/conftest.py): real local services on free ports."""
