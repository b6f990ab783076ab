"""Measuring and training answer quality on QA data (needs PyTorch and the data; never imported when serving)."""
