"""The model app: train a classifier, version it in the model bucket, serve it, watch drift."""

__version__ = "0.1.0"
