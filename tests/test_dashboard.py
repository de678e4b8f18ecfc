"""The offline dashboard: its aggregates, its escaping, its Dagster asset, and a real browser.

Browser tests (``pytest.mark.browser``) drive Debian's chromium headless through
Playwright from a file:// URL, with every non-file request aborted and recorded, so
they also prove the page works offline. They skip when chromium or Playwright is absent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import tomllib
from importlib.resources import files
from pathlib import Path, PurePosixPath

import dagster as dg
import pytest

from assets.dashboard import dashboard
from assets.definitions import ALL_ASSETS
from assets.partitions import monthly_partitions
from assets.resources import GradingSettings, WarehouseResource
from pipelines.policy import DEFAULT_POLICY_PATH, load_policy, parse_policy
from pipelines.reporting import dashboard_data, dashboard_page
from pipelines.reporting.dashboard import DashboardError, build_dashboard, write_dashboard
from pipelines.reporting.dashboard_metrics import HISTORY_METRICS
from pipelines.reporting.explain import UnknownMerchantError
from pipelines.sql_files import load_sql
from pipelines.warehouse import connect, fetch_rows
from tests.test_explain import MONTHS, published_warehouse

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"
ASSET_TAGS = {
    "dashboard.css": "style",
    "dashboard.js": "script",
    "dashboard_sections.css": "style",
    "dashboard_sections.js": "script",
    "movers.css": "style",
    "movers.js": "script",
    "at_risk.js": "script",
}
# plotly.js, the JSON data block and one per script asset.
SCRIPTS = 2 + sum(tag == "script" for tag in ASSET_TAGS.values())
ARTIFACTS = Path(__file__).parent / "artifacts"
EVIL_CATEGORY = "<script>alert(1)</script>"
EVIL_MERCHANT = "<img src=x onerror=alert(2)>&amp;"
DATA_BLOCK = re.compile(r'<script type="application/json" id="dashboard-data">(.*?)</script>', re.S)


def wheel_ships(pyproject: str, relative: str) -> bool:
    """Whether the wheel built from ``pyproject`` holds ``pipelines/<relative>``: setuptools
    ships the package-data globs only; hatchling every file of the listed packages that
    git does not ignore."""
    tool = tomllib.loads(pyproject)["tool"]
    if "hatch" in tool:
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", f"pipelines/{relative}"], cwd=PYPROJECT.parent
        )
        return "pipelines" in tool["hatch"]["build"]["targets"]["wheel"]["packages"] and (
            ignored.returncode == 1
        )
    globs = tool["setuptools"]["package-data"]["pipelines"]
    return any(PurePosixPath(relative).match(g) for g in globs)


def page_data(html: str) -> dict:
    """The JSON block the page draws from (its \\u003c escapes are plain JSON)."""
    return json.loads(DATA_BLOCK.search(html).group(1))


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return published_warehouse(tmp_path_factory)


@pytest.fixture(scope="session")
def site(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dashboard(warehouse, tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def evil_warehouse(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy whose first category and one merchant id are markup, in raw and main."""
    copy = tmp_path_factory.mktemp("evil") / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    con = connect(copy)
    try:
        category = fetch_rows(con, "SELECT min(main_category) FROM main.exposure_weights")[0][0]
        merchant = fetch_rows(
            con,
            "SELECT min(merchant_id) FROM main.merchant_grades WHERE month = $m",
            {"m": MONTHS[-1]},
        )[0][0]
        for table in ("main.tier_distribution", "main.exposure_weights", "raw.merchants"):
            con.execute(
                f"UPDATE {table} SET main_category = $evil WHERE main_category = $old",
                {"evil": EVIL_CATEGORY, "old": category},
            )
        for table in ("main.merchant_grades", "main.exposure_weights", "raw.service_metrics"):
            con.execute(
                f"UPDATE {table} SET merchant_id = $evil WHERE merchant_id = $old",
                {"evil": EVIL_MERCHANT, "old": merchant},
            )
    finally:
        con.close()
    return copy


@pytest.fixture(scope="session")
def evil_site(evil_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dashboard(
        evil_warehouse, tmp_path_factory.mktemp("evil_site"), merchants=[EVIL_MERCHANT]
    )


# --- the page without a browser ------------------------------------------------------------


def test_page_is_self_contained_with_plotly_inlined_once(site):
    html = site.read_text(encoding="utf-8")
    assert site.name == "index.html"
    assert html.count("* plotly.js v") == 1
    assert len(re.findall(r"<script\b", html)) == SCRIPTS
    assert not re.search(r"<(script|link|img)\b[^>]*\b(src|href)=", html)
    assert "Content-Security-Policy" in html
    assert not [p for p in site.parent.iterdir() if p.name != "index.html"]  # no temp file left


def test_style_and_script_are_the_shipped_files_inlined_as_they_are(site):
    html = site.read_text(encoding="utf-8")
    assets = files("pipelines.reporting") / "dashboard_assets"
    shipped = sorted(a.name for a in assets.iterdir() if a.is_file())
    assert shipped == sorted(ASSET_TAGS)
    for name, tag in ASSET_TAGS.items():
        text = (assets / name).read_text(encoding="utf-8")
        assert f"<{tag}>\n{text}</{tag}>" in html, name
    pyproject = PYPROJECT.read_text(encoding="utf-8")
    assert [
        n for n in shipped if not wheel_ships(pyproject, f"reporting/dashboard_assets/{n}")
    ] == []


def test_page_reads_its_style_and_script_from_the_asset_folder(tmp_path, monkeypatch):
    (tmp_path / "dashboard.css").write_text("h1 { color: teal; }\n", encoding="utf-8")
    (tmp_path / "dashboard_sections.css").write_text("h2 { color: red; }\n", encoding="utf-8")
    (tmp_path / "dashboard.js").write_text("console.log('from the file');\n", encoding="utf-8")
    (tmp_path / "dashboard_sections.js").write_text("var sections;\n", encoding="utf-8")
    (tmp_path / "movers.css").write_text("th { color: navy; }\n", encoding="utf-8")
    (tmp_path / "movers.js").write_text("console.log('movers');\n", encoding="utf-8")
    (tmp_path / "at_risk.js").write_text("console.log('a section');\n", encoding="utf-8")
    monkeypatch.setattr(dashboard_page, "ASSETS", tmp_path)
    html = dashboard_page.render_page({}, [], [], [])
    assert "<style>\nh1 { color: teal; }\n</style>\n<style>\nh2 { color: red; }\n</style>" in html
    assert (
        "<script>\nvar sections;\n</script>\n<script>\nconsole.log('movers');\n</script>\n"
        "<script>\nconsole.log('from the file');\n</script>\n<script>\nconsole.log('a section');\n"
    ) in html
    assert "<style>\nth { color: navy; }\n</style>" in html
    (tmp_path / "dashboard.js").write_text("let s = '</script><b>';\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="dashboard.js contains '</script'"):
        dashboard_page.render_page({}, [], [], [])


def test_the_metric_list_is_written_once(warehouse, tmp_path, monkeypatch):
    """The SQL and the script name no metric: they follow pipelines.reporting.dashboard_metrics."""
    for name, text in (
        ("metric_ranges.sql", load_sql("dashboard/metric_ranges.sql")),
        ("metric_histograms.sql", load_sql("dashboard/metric_histograms.sql")),
        (
            "dashboard.js",
            (files("pipelines.reporting") / "dashboard_assets" / "dashboard.js").read_text(),
        ),
    ):
        assert [m for m in HISTORY_METRICS if m in text] == [], name
    monkeypatch.setattr(dashboard_data, "CHART_METRICS", ("dsr_item_avg", "bad_order_rate"))
    monkeypatch.setattr(dashboard_data, "HISTORY_METRICS", ("response_rate_24h", "dsr_item_avg"))
    data = page_data(build_dashboard(warehouse, tmp_path).read_text(encoding="utf-8"))
    assert list(data["payload"]["histograms"]) == ["dsr_item_avg", "bad_order_rate"]
    assert data["payload"]["merchantMetrics"] == ["response_rate_24h", "dsr_item_avg"]
    traces = data["figures"]["merchant_metrics"]["data"]
    assert [t["name"] for t in traces] == ["24h response rate", "DSR (item as described, 1-5)"]
    assert (
        "hist_dsr_item_avg" in data["charts"] and "hist_seller_dispute_rate" not in data["charts"]
    )


def test_aggregates_match_the_published_tables(site, warehouse):
    data = page_data(site.read_text(encoding="utf-8"))
    p = data["payload"]
    assert p["months"] == MONTHS and p["previous"] == [-1, 0, 1]
    assert p["tiers"] == list(load_policy().tier_names)
    con = connect(warehouse, read_only=True)
    try:
        counts = fetch_rows(
            con, "SELECT month, tier, count(*) FROM main.merchant_grades GROUP BY ALL"
        )
        graded = dict(
            fetch_rows(con, "SELECT month, count(*) FROM main.merchant_grades GROUP BY ALL")
        )
        union = {
            month: fetch_rows(
                con,
                "SELECT count(DISTINCT merchant_id) FROM main.merchant_grades "
                "WHERE month IN ($month, $before)",
                {"month": month, "before": before},
            )[0][0]
            for before, month in zip(MONTHS, MONTHS[1:], strict=False)
        }
    finally:
        con.close()
    for month, tier, n in counts:
        assert p["tierCounts"][MONTHS.index(month)][0][p["tiers"].index(tier)] == n
    for m, month in enumerate(MONTHS):
        by_category = [sum(c) for c in p["tierCounts"][m][1:]]
        assert sum(by_category) == sum(p["tierCounts"][m][0]) == graded[month]
        assert sum(p["levelCounts"][m][0]) == graded[month]
        for histogram in p["histograms"].values():
            assert sum(histogram["counts"][m][0]) + histogram["undefined"][m][0] == graded[month]
        for c in range(1, len(p["categories"]) + 1):
            assert sum(p["exposure"][m][c]) == pytest.approx(1.0, abs=1e-5)
    assert p["migration"][0] is None
    for m, month in enumerate(MONTHS[1:], start=1):
        matrix = p["migration"][m][0]  # (tiers + new) x (tiers + not graded)
        assert sum(map(sum, matrix)) == union[month]
        assert (
            sum(matrix[-1]) + sum(map(sum, matrix[:-1])) - sum(r[-1] for r in matrix)
            == (graded[month])
        )


def migration_matrix(before: dict, now: dict, tiers: list[str]) -> list[list[int]]:
    """Merchants counted at row = tier before (last row: new) and column = tier now (last
    column: not graded now), from {merchant: tier} of the two months."""
    matrix = [[0] * (len(tiers) + 1) for _ in range(len(tiers) + 1)]
    for merchant in before.keys() | now.keys():
        row = tiers.index(before[merchant]) if merchant in before else len(tiers)
        column = tiers.index(now[merchant]) if merchant in now else len(tiers)
        matrix[row][column] += 1
    return matrix


def test_migration_goes_from_the_previous_month_s_tier_to_this_month_s(site, warehouse):
    """Each migration matrix counts a merchant at row = its published tier of the month
    before (last row: new this month) and column = its tier of this month (last column:
    not graded this month), all categories together."""
    p = page_data(site.read_text(encoding="utf-8"))["payload"]
    tiers = p["tiers"]
    con = connect(warehouse, read_only=True)
    try:
        graded = {
            month: dict(
                fetch_rows(
                    con,
                    "SELECT merchant_id, tier FROM main.merchant_grades WHERE month = $month",
                    {"month": month},
                )
            )
            for month in MONTHS
        }
    finally:
        con.close()
    for m, month in enumerate(MONTHS[1:], start=1):
        expected = migration_matrix(graded[MONTHS[m - 1]], graded[month], tiers)
        assert expected != [list(r) for r in zip(*expected, strict=True)], "moves both ways"
        assert p["migration"][m][0] == expected, month


def test_a_merchant_that_changed_category_migrates_under_this_month_s_category(tmp_path):
    """M0500001's March snapshot moves it from apparel to electronics: March's migration
    counts it under electronics (this month's category), and every category's matrix is
    its merchants' moves from their February tier to their March tier."""
    from assets.runner import grade_months
    from tests.helpers import CONFORMANCE

    landing = tmp_path / "landing"
    shutil.copytree(CONFORMANCE / "landing", landing)
    snapshot = landing / "merchants" / "month=2026-03" / "part-a.csv"
    text = snapshot.read_text()
    assert ",exclusive,apparel,1789," in text
    snapshot.write_text(text.replace(",exclusive,apparel,1789,", ",exclusive,electronics,1789,"))
    warehouse = tmp_path / "w.duckdb"
    grade_months(landing, warehouse, tmp_path / "out", "2026-03", dashboard=False)
    p = page_data(build_dashboard(warehouse, tmp_path / "site").read_text(encoding="utf-8"))[
        "payload"
    ]
    tiers, categories = p["tiers"], p["categories"]
    con = connect(warehouse, read_only=True)
    try:
        graded = {
            month: {
                merchant: (tier, category or "(none)")
                for merchant, tier, category in fetch_rows(
                    con,
                    "SELECT merchant_id, tier, main_category FROM main.exposure_weights "
                    "WHERE month = $month",
                    {"month": month},
                )
            }
            for month in ("2026-02", "2026-03")
        }
    finally:
        con.close()
    before, now = graded["2026-02"], graded["2026-03"]
    assert before["M0500001"][1] == "apparel" and now["M0500001"][1] == "electronics"
    march = p["months"].index("2026-03")
    for c, category in enumerate(categories, start=1):
        members = {
            m for m in before.keys() | now.keys() if (now.get(m) or before[m])[1] == category
        }
        expected = migration_matrix(
            {m: tier for m, (tier, _) in before.items() if m in members},
            {m: tier for m, (tier, _) in now.items() if m in members},
            tiers,
        )
        assert p["migration"][march][c] == expected, category


def test_only_the_explained_merchants_and_the_movers_are_embedded(site, warehouse):
    """...and the ineligible ones the compliance section lists (issue 19)."""
    html = site.read_text(encoding="utf-8")
    payload = page_data(html)["payload"]
    merchants = payload["merchants"]
    movers = payload["movers"]["ids"]
    listed = [x["id"] for month in payload["compliance"]["ineligible"] for x in month]
    tiers = [m["tier"][-1] for m in merchants]
    assert 0 < len(merchants) <= 3 * len(set(tiers)) and all(tiers.count(t) <= 3 for t in tiers)
    first = merchants[0]
    assert first["explanation"][-1].startswith(f"Merchant {first['id']}, {MONTHS[-1]}")
    assert len(first["level"]) == len(first["tier"]) == len(MONTHS)
    con = connect(warehouse, read_only=True)
    try:
        others = fetch_rows(
            con,
            "SELECT merchant_id FROM main.merchant_grades WHERE NOT list_contains($ids, "
            "merchant_id) LIMIT 20",
            {"ids": [m["id"] for m in merchants] + listed + movers},
        )
    finally:
        con.close()
    assert not [m for (m,) in others if f'"{m}"' in html or f"{m}," in html]


def test_thresholds_come_from_the_policy_object(warehouse, tmp_path):
    raw = tomllib.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    raw["policy_version"] = "test.1"
    raw["tiers"]["excellent"]["bad_order_rate_max"] = "0.025"
    path = build_dashboard(warehouse, tmp_path, parse_policy(raw))
    html = path.read_text(encoding="utf-8")
    figure = page_data(html)["figures"]["hist_bad_order_rate"]
    assert sorted(s["x0"] for s in figure["layout"]["shapes"]) == [0.025, 0.06, 0.12]
    texts = [a["text"] for a in figure["layout"]["annotations"]]
    assert "excellent &lt; 2.5%" in texts  # rates as percentages (issue 19)
    edges = page_data(html)["payload"]["histograms"]["bad_order_rate"]["edges"]
    assert any(abs(e - 0.025) < 1e-12 for e in edges)  # a threshold is a bin edge
    assert "use policy test.1" in html


def test_injected_markup_is_escaped_in_the_file(evil_site):
    html = evil_site.read_text(encoding="utf-8")
    assert EVIL_CATEGORY not in html and "<img" not in html
    payload = page_data(html)["payload"]
    assert EVIL_CATEGORY in payload["categories"]
    assert [m["id"] for m in payload["merchants"]] == [EVIL_MERCHANT]


def test_unknown_merchant_or_empty_warehouse_is_refused(warehouse, tmp_path):
    with pytest.raises(UnknownMerchantError, match="'NOPE'"):
        build_dashboard(warehouse, tmp_path / "a", merchants=["NOPE"])
    empty = tmp_path / "empty.duckdb"
    connect(empty).close()
    with pytest.raises(DashboardError, match="no month has been published"):
        build_dashboard(empty, tmp_path / "b")
    with pytest.raises(DashboardError, match="does not exist"):
        build_dashboard(tmp_path / "missing.duckdb", tmp_path / "c")
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())


# --- the Dagster asset ---------------------------------------------------------------------


def test_dashboard_asset_materializes_after_the_month_is_published(warehouse, tmp_path):
    spec = dashboard.specs_by_key[dg.AssetKey("dashboard")]
    assert spec.group_name == "reporting"
    assert set(spec.kinds) == {"plotly", "html"}
    assert dashboard.partitions_def == monthly_partitions
    assert {d.asset_key for d in spec.deps} == {dg.AssetKey("published_month")}

    outputs = tmp_path / "outputs"
    result = dg.materialize(
        ALL_ASSETS,  # the dashboard among them, with its owner
        selection=dg.AssetSelection.assets("dashboard"),
        partition_key=MONTHS[-1],
        resources={
            "warehouse": WarehouseResource(path=str(warehouse)),
            "settings": GradingSettings(
                landing_dir=str(warehouse.parent / "landing"), outputs_dir=str(outputs)
            ),
        },
    )
    assert result.success
    metadata = result.asset_materializations_for_node("dashboard")[0].metadata
    index = outputs / "dashboard" / "index.html"
    assert metadata["path"].value == str(index)
    assert metadata["charts"].value == 12
    assert metadata["months_shown"].value == f"{MONTHS[0]}..{MONTHS[-1]}"
    assert index.is_file() and [p.name for p in index.parent.iterdir()] == ["index.html"]


def test_write_dashboard_reports_what_it_wrote(warehouse, tmp_path):
    result = write_dashboard(warehouse, tmp_path, months_shown=2)
    assert result.months == MONTHS[-2:]
    assert result.charts == 12 and result.bytes == result.path.stat().st_size


@pytest.mark.parametrize("umask", [0o077, 0o022, 0o002])
def test_the_page_is_created_with_the_process_s_umask(warehouse, tmp_path, umask):
    """It was set to 0644 whatever the umask: world-readable under 077 (a review,
    2026-12-06). Rebuilt over an existing page, too."""
    previous = os.umask(umask)
    try:
        for _ in range(2):
            path = write_dashboard(warehouse, tmp_path, months_shown=1).path
            assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    finally:
        os.umask(previous)
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


# --- in a real browser ---------------------------------------------------------------------


class Watched:
    """A page opened from a file:// URL with its errors, dialogs and network attempts."""

    def __init__(self, browser, path: Path, fragment: str = "") -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri() + fragment)
        self.page.wait_for_selector("body[data-ready=true]", timeout=30_000)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def text(self, selector: str) -> str:
        return self.page.text_content(selector) or ""

    def trace(self, chart: str, attribute: str = "y") -> list:
        return self.page.evaluate(
            "([id, a]) => document.getElementById('chart-' + id).data[0][a]", [chart, attribute]
        )


@pytest.mark.browser
def test_every_chart_renders_offline_without_errors(browser, site):
    watched = Watched(browser, site)
    charts = page_data(site.read_text(encoding="utf-8"))["charts"]
    assert len(charts) == 12
    for chart in charts:
        assert watched.page.locator(f"#chart-{chart} .main-svg").count() > 0, chart
    assert watched.text("#kpi-graded .kpi-value").strip() != ""
    assert watched.text("#explanation").startswith("Merchant ")
    ARTIFACTS.mkdir(exist_ok=True)
    watched.page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert watched.errors == [] and watched.dialogs == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_month_and_category_controls_change_what_is_shown(browser, site):
    watched = Watched(browser, site)
    latest = (watched.text("#kpi-graded"), watched.trace("levels"), watched.trace("migration", "z"))
    assert "vs " + MONTHS[-2] in latest[0]

    watched.page.select_option("#month", index=0)
    first = (watched.text("#kpi-graded"), watched.trace("levels"))
    assert "no previous month published" in first[0]
    assert first[1] != latest[1]
    assert watched.page.locator("#chart-migration", has_text="No previous month published").count()

    watched.page.select_option("#month", index=len(MONTHS) - 1)
    watched.page.select_option("#category", index=1)
    in_category = int(watched.text("#kpi-graded .kpi-value").replace(",", ""))
    assert in_category == sum(watched.trace("levels")) < sum(latest[1])
    assert watched.errors == [] and watched.requests == []
    watched.page.close()


@pytest.mark.browser
def test_injected_markup_does_not_run_and_shows_as_text(browser, evil_site):
    watched = Watched(browser, evil_site)
    options = watched.page.eval_on_selector_all("#category option", "os => os.map(o => o.text)")
    assert EVIL_CATEGORY in options
    ticks = watched.page.eval_on_selector_all(
        "#chart-tier_by_category .ytick text", "ts => ts.map(t => t.textContent)"
    )
    assert EVIL_CATEGORY in ticks
    assert watched.text("#merchant option").startswith(EVIL_MERCHANT)
    assert watched.text("#explanation").startswith(f"Merchant {EVIL_MERCHANT}, ")

    watched.page.select_option("#category", label=EVIL_CATEGORY)
    assert EVIL_CATEGORY in watched.text("#chart-levels .gtitle")
    assert watched.page.locator("script").count() == SCRIPTS
    assert watched.page.locator("img").count() == 0
    assert watched.dialogs == [] and watched.errors == [] and watched.requests == []
    watched.page.close()
