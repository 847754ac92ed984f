"""Serving: the FastAPI app, the hot-swappable model and live feedback."""
