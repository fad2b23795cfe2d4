"""Matching: a query resolved into vectors and filters, candidates found in a snapshot of an index
version, ranked by pure functions and flattened into one match row."""
