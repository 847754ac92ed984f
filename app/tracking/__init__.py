"""Experiment tracking and the model registry, on an MLflow tracking server.

Training logs every run here and registers versions here; promotion and rollback start here.
Only training and the CLI import this package: the model server reads what promotion
publishes to the bucket (`app.registry`) and never talks to the tracking server, so the
serving image carries no MLflow and serving keeps working while the tracking server is down.
"""
