"""Dagster assets: thin wiring around ``pipelines`` (ingest, rules, publishing)."""
