"""Turning text into vectors: the embedder seam, the sentence-transformers model, its checked
ONNX copy, and the choice between them."""
