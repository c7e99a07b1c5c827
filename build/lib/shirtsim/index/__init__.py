"""Indexes: building them from the cache, searching them in memory, approximately or on Milvus."""
