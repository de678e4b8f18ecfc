"""The helpers behind the analyst notebooks' output: tables, plots and the what-if's copy.

They are cheap to test without a kernel; ``tests/test_notebooks.py`` runs the notebooks
themselves and checks what their HTML export shows.
"""

from __future__ import annotations

import dataclasses
import tempfile
from fractions import Fraction
from pathlib import Path

import plotly.express as px
import plotly.io as pio
import polars as pl
import pytest

from pipelines.policy import load_policy
from pipelines.reporting import what_if_session
from pipelines.reporting.analysis import COPY_PREFIX
from pipelines.reporting.notebook_plots import (
    NOTEBOOK_RENDERERS,
    provisional_label,
    tier_color_map,
    tier_segment,
    use_notebook_renderer,
)
from pipelines.reporting.notebook_tables import percent_text, readable_header, show_table
from pipelines.reporting.tier_palette import PROVISIONAL_COLOR, tier_colors
from pipelines.reporting.what_if_session import (
    WhatIfParameterError,
    check_parameters,
    exposure_sentence,
    private_copy,
    publish_blockers,
)
from pipelines.warehouse import connect

POLARS_DTYPES = ("<td>str</td>", "<td>f64</td>", "<td>i64</td>", "shape: (")

# --- tables -------------------------------------------------------------------------------


def test_percent_text_cuts_towards_zero_and_keeps_the_sign():
    frame = pl.DataFrame({"rate": [0.0089286, 1.0, 0.0, -0.0031, 0.00004, -0.00004, 0.12345]})
    assert frame.select(percent_text("rate"))["rate"].to_list() == [
        "0.8%",
        "100.0%",
        "0.0%",
        "-0.3%",
        "0.0%",
        "0.0%",  # not "-0.0%"
        "12.3%",
    ]
    assert frame.select(percent_text("rate", 2))["rate"][0] == "0.89%"
    assert frame.select(percent_text("rate", 0))["rate"][1] == "100%"


def test_a_rate_just_short_of_a_bound_is_not_shown_at_it():
    """The review's merchants (2026-12-06): 132/139 on time misses 95%, 1/122 disputes is
    not below 0.8%, 5/168 bad orders is below 3%; each reads on its side of the bound.
    Exact values are not cut a unit short by their float (0.29, 0.95, 0.07)."""
    rates = [132 / 139, 1 / 122, 5 / 168, 0.29, 0.95, 0.07, 0.575]
    frame = pl.DataFrame({"rate": rates})
    assert show_table(frame, percent=["rate"]).frame["rate"].to_list() == [
        "94.96%",
        "0.81%",
        "2.97%",
        "29.00%",
        "95.00%",
        "7.00%",
        "57.50%",
    ]
    assert frame.select(percent_text("rate"))["rate"].to_list() == [
        "94.9%",
        "0.8%",
        "2.9%",
        "29.0%",
        "95.0%",
        "7.0%",
        "57.5%",
    ]


def test_readable_header_spells_the_column_out():
    assert readable_header("bad_order_rate") == "bad order rate"
    assert readable_header("response_rate_24h") == "response rate in 24 h"
    assert readable_header("merchant_id") == "merchant ID"


def test_show_table_has_readable_headers_percentages_and_no_dtype_row():
    frame = pl.DataFrame(
        {
            "main_category": ["toys", None],
            "bad_order_rate": [0.0089286, None],
            "merchants": [112, 7],
            "eligible": [True, False],
            "reasons": [["seller_dispute_rate 1/112", "dsr"], []],
        }
    )
    table = show_table(
        frame, percent=["bad_order_rate"], headers={"main_category": "category"}, caption="Cap"
    )
    assert table.frame.columns == ["category", "bad order rate", "merchants", "eligible", "reasons"]
    assert table.frame.row(0) == ("toys", "0.89%", "112", "yes", "seller_dispute_rate 1/112; dsr")
    assert table.frame.row(1) == ("–", "–", "7", "no", "")
    html = table._repr_html_()
    assert "<caption>Cap</caption>" in html
    assert '<th class="num">bad order rate</th>' in html and '<th class="txt">category</th>' in html
    assert '<td class="num">0.89%</td>' in html and "0.0089" not in html
    assert not [marker for marker in POLARS_DTYPES if marker in html]
    assert "str" not in repr(table).split("\n")[2]  # the text form: no dtype line either
    assert "0.89%" in repr(table)


def test_show_table_escapes_markup():
    table = show_table(pl.DataFrame({"main_category": ["<script>x</script>&"]}))
    assert "&lt;script&gt;x&lt;/script&gt;&amp;" in table.html
    assert "<script>" not in table.html


def test_show_table_of_an_empty_frame_has_headers_only():
    table = show_table(pl.DataFrame(schema={"tier": pl.String, "share": pl.Float64}))
    assert "<tbody></tbody>" in table.html and "share" in table.html


def test_show_table_refuses_an_unknown_column():
    with pytest.raises(KeyError, match="no column"):
        show_table(pl.DataFrame({"a": [1]}), percent=["b"])


# --- plots --------------------------------------------------------------------------------


@pytest.fixture
def restore_renderer():
    before = pio.renderers.default
    yield
    pio.renderers.default = before


def test_notebook_renderer_adds_html_with_no_network_reference(restore_renderer):
    assert use_notebook_renderer() == NOTEBOOK_RENDERERS
    figure = px.bar(x=["a", "b"], y=[1, 2])
    bundle = pio.renderers._build_mime_bundle(figure.to_dict(), NOTEBOOK_RENDERERS)
    assert "application/vnd.plotly.v1+json" in bundle  # JupyterLab
    html = bundle["text/html"]  # nbconvert's HTML export
    assert "Plotly.newPlot(" in html and '"x":["a","b"]' in html
    assert "http" not in html.replace("http://www.w3.org", "")  # no CDN: works offline


def test_tier_colors_are_the_dashboard_palette_with_provisional_apart():
    tiers = load_policy().tier_names
    colors = tier_color_map(tiers, "passing")
    assert {t: colors[t] for t in tiers} == tier_colors(tiers)
    assert colors[provisional_label("passing")] == PROVISIONAL_COLOR
    assert len(set(colors.values())) == len(colors)
    grades = pl.DataFrame(
        {"tier": ["passing", "passing", "good"], "provisional": [True, False, False]}
    )
    assert grades.select(tier_segment())["segment"].to_list() == [
        "passing (provisional)",
        "passing",
        "good",
    ]


# --- the what-if's parameters and copy ----------------------------------------------------


@pytest.fixture
def warehouse_file(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = connect(path)
    con.close()
    return path


@pytest.mark.parametrize(
    ("month", "base", "changes", "message"),
    [
        ("2026-13", "", {}, "MONTH: not a month: '2026-13'"),
        ("", "no-such.toml", {}, "BASE_POLICY: no policy file at"),
        ("", "", [("tiers.good.on_time_ship_rate_min", "0.95")], "POLICY_CHANGES: expected a dict"),
        ("", "", {"tiers.good.on_time_ship_rate_mn": "0.95"}, "POLICY_CHANGES: .*unknown key"),
        ("2026-03", "", {"window": {"days": 0}}, "POLICY_CHANGES: "),
        ("", "", {"nope.key": 1}, "POLICY_CHANGES: .*no table 'nope'"),
    ],
)
def test_bad_what_if_parameters_are_refused_naming_the_parameter(
    warehouse_file: Path, month: str, base: str, changes: object, message: str
):
    with pytest.raises(WhatIfParameterError, match=message):
        check_parameters(warehouse_file, month, base, changes)


def test_a_missing_warehouse_is_refused(tmp_path: Path):
    with pytest.raises(WhatIfParameterError, match="WAREHOUSE: no warehouse file at"):
        check_parameters(tmp_path / "typo.duckdb", "", "", {})
    with pytest.raises(WhatIfParameterError, match="WAREHOUSE"):
        check_parameters("", "", "", {})


def test_good_parameters_pass(warehouse_file: Path):
    changes = {"tiers.good.on_time_ship_rate_min": "0.95"}
    assert check_parameters(warehouse_file, "2026-03", "", changes) == warehouse_file
    assert check_parameters(str(warehouse_file), "", "", {}) == warehouse_file


def test_private_copy_is_deleted_when_the_copy_fails(monkeypatch, tmp_path: Path, warehouse_file):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    def fail(*args, **kwargs):
        raise RuntimeError("the monthly run kept writing it")

    monkeypatch.setattr(what_if_session, "readonly_copy", fail)
    with pytest.raises(RuntimeError):
        private_copy(warehouse_file)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_private_copy_registers_its_removal_at_exit(monkeypatch, tmp_path: Path, warehouse_file):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    hooks = []
    monkeypatch.setattr(what_if_session.atexit, "register", lambda *a, **k: hooks.append((a, k)))
    copied = private_copy(warehouse_file)
    assert copied.parent.name.startswith(COPY_PREFIX) and copied.is_file()
    (function, folder), keywords = hooks[0]
    function(folder, **keywords)  # what the kernel runs when it exits
    assert not copied.parent.exists()


def test_exposure_sentence_says_how_much_exposure_changes_tier():
    by_tier = pl.DataFrame(
        {"tier": ["excellent", "good", "passing"], "exposure_delta": [0.0, -0.054, 0.054]}
    )
    sentence = exposure_sentence(by_tier, categories=6)
    assert sentence == (
        "0.90% of all exposure (each category counted equally) moves from one tier to "
        "another; good loses the most, 0.90% of all exposure"
    )
    assert "categories' worth" not in sentence
    unchanged = by_tier.with_columns(exposure_delta=pl.lit(0.0))
    assert exposure_sentence(unchanged, categories=6) == "no exposure changes tier"


# --- a what-if month its quarantine limit would not publish ---------------------------------


def test_publish_blockers_name_the_datasets_over_the_limit_compared_exactly(
    published_conformance,
):
    """March's bad orders: 1 of 796 rows quarantined (0.1256281...%). A limit of 0.12562%
    stops the month (spec §1: over the limit), 0.12563% does not; no other dataset is
    near. A review saw the what-if say "0 merchants change tier" under a limit a run
    refused the month for (2026-12-06)."""
    policy = load_policy()
    con = connect(published_conformance("2026-03") / "w.duckdb", read_only=True)
    try:
        under = dataclasses.replace(policy, max_quarantine_ratio=Fraction("0.0012562"))
        blockers = publish_blockers(con, "2026-03", under)
        assert len(blockers) == 1
        assert blockers[0].startswith("bad_orders 2026-03: 1 of 796 rows quarantined (")
        at = dataclasses.replace(policy, max_quarantine_ratio=Fraction("0.0012563"))
        assert publish_blockers(con, "2026-03", at) == []
        assert publish_blockers(con, "2026-03", policy) == []
    finally:
        con.close()
