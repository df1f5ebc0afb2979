"""Pydantic models that validate the create/update bodies of Batch API v1 and v2."""
