"""Data: the embedded synthetic world and its oracle, NSP pairs from real videos, shards, loading and caching."""
