"""Index generations on disk: building them crash-safely, the FAISS vectors, and the cache of
vectors already computed."""
