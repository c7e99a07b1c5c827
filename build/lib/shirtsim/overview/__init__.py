"""The catalog at a glance: its map, its near-duplicates and its quality."""
