"""What readers see of the published tables: dashboard, explanations, summaries, what-ifs.

Reporting reads the published ``main.*`` tables (and, for the what-if, reruns the pure
rules); it never imports ingest.

- ``dashboard`` (with ``dashboard_data``, ``dashboard_figures``, ``dashboard_metrics``,
  ``dashboard_page`` and the page's ``dashboard_assets``): the offline HTML dashboard;
- ``explain``: why a merchant got its tier and level, and what it needs for the next;
- ``summary``: the warehouse's months at a glance;
- ``analysis``: the notebooks' helpers and the what-if regrade;
- ``tier_palette``: the one colour-blind-safe tier palette.
"""
