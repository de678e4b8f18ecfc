"""The grading rules as pure polars functions: frames and a policy in, frames out.

Dagster assets, notebooks and tests all call these, so a rule lives in one place.
"""
