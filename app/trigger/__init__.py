"""The drift-to-retrain webhook: Alertmanager posts here, one retraining Job starts."""
