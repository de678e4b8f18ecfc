"""Data checks (spec §9): the Great Expectations suites, their month filters, Data Docs.

- ``validation``: the suites run over a month's rows, and the blocking verdict;
- ``check_filter``: which rows a suite sees for a month;
- ``quarantine_summary``: the quarantine against its limit, per dataset and reason;
- ``data_docs``: the Great Expectations site of the runs.
"""
