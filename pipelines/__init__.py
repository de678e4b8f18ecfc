"""Merchant grading: domain rules (pure polars), warehouse I/O (DuckDB) and the CLI."""
