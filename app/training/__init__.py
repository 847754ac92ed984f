"""Training: PyTorch on CUDA when available, exported to ONNX for serving."""
