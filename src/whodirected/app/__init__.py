"""The local web page and its API (FastAPI)."""
