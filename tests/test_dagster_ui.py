"""The Dagster UI a data engineer expects (issue 19, section 7).

The pieces are tested without a browser (the partitions' first month, the instance a CLI
run is recorded in, partitioned check results, owners, level keys, the deadline check);
then ``dagster-webserver`` is started on 127.0.0.1 over a warehouse graded by the CLI, and
headless chromium checks what the UI shows: the asset graph, a partition's metadata, a
check result on its partition, and that "Materialize all" on the job's page launches
``grade_month`` for the chosen partition.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from assets.cli import main as cli_main
from assets.deadline import (
    deadline_check_result,
    deadline_report,
    first_publications,
    last_due_month,
    publication_deadline,
)
from assets.definitions import ALL_ASSETS, build_definitions, defs
from assets.first_month import NO_DATA_FIRST_MONTH, first_month
from assets.instance import INSTANCE_YAML, dagster_home
from assets.ownership import GROUP_OWNERS
from assets.resources import WarehouseResource
from pipelines.warehouse import connect, fetch_rows
from tests.helpers import CONFORMANCE, without_configured_start
from tests.test_dashboard import ARTIFACTS

REPO_ROOT = Path(__file__).resolve().parent.parent
LANDING = CONFORMANCE / "landing"
MONTHS = ["2026-01", "2026-02"]
GROUPS = {"ingest", "grading", "exposure", "publish", "reporting"}
WEBSERVER = Path(sys.executable).parent / "dagster-webserver"
LOCATION = "assets.definitions"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse graded through 2026-02 by ``grading run``, with DAGSTER_HOME unset."""
    root = tmp_path_factory.mktemp("ui")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)
        code = cli_main(
            [
                "run",
                "--landing",
                str(LANDING),
                "--warehouse",
                str(root / "warehouse.duckdb"),
                "--outputs",
                str(root / "outputs"),
                "--through",
                MONTHS[-1],
            ]
        )
    assert code == 0
    return root


def warehouse_counts(root: Path, column: str, month: str) -> dict[str, int]:
    con = connect(root / "warehouse.duckdb", read_only=True)
    try:
        rows = fetch_rows(
            con,
            f"SELECT {column}::VARCHAR, count(*) FROM main.merchant_grades "
            "WHERE month = $month GROUP BY ALL",
            {"month": month},
        )
    finally:
        con.close()
    return {key: int(n) for key, n in rows}


def latest_metadata(instance: dg.DagsterInstance, asset: str, month: str) -> dict[str, object]:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[month]), limit=1
    ).records
    assert records, f"no materialization of {asset} {month} in the instance"
    metadata = records[0].asset_materialization.metadata
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


# --- partitions ----------------------------------------------------------------------------


def first_partition_in_fresh_process(environ: dict[str, str]) -> str:
    """The code location's first partition, imported as ``dagster dev`` imports it."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from assets.partitions import monthly_partitions as p; "
            "print(p.get_first_partition_key())",
        ],
        cwd=REPO_ROOT,
        env={**environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_partitions_start_at_the_landing_folders_first_month(tmp_path):
    environ = without_configured_start(dict(os.environ))
    environ.update(GRADING_LANDING=str(LANDING), GRADING_WAREHOUSE=str(tmp_path / "none.duckdb"))
    assert first_partition_in_fresh_process(environ) == "2026-01"
    environ["GRADING_FIRST_MONTH"] = "2025-11"
    assert first_partition_in_fresh_process(environ) == "2025-11"


def test_first_month_is_the_earlier_of_landing_and_warehouse(tmp_path, graded):
    missing = tmp_path / "nowhere"
    assert first_month(LANDING, missing / "w.duckdb") == "2026-01"
    assert first_month(missing, graded / "warehouse.duckdb") == "2026-01"
    assert first_month(missing, missing / "w.duckdb") == NO_DATA_FIRST_MONTH
    assert first_month(LANDING, graded / "warehouse.duckdb", "2025-06") == "2025-06"
    with pytest.raises(ValueError, match="not a month"):
        first_month(LANDING, missing, "2025-6")
    # Dagster needs a month before the first partition: 0001-01 has none (a review saw
    # "year 0 is out of range" stop every command), so the partitions start at 0001-02.
    assert first_month(LANDING, missing, "0001-01") == "0001-02"
    assert first_month(LANDING, missing, "0001-02") == "0001-02"


# --- run history, partitions' metadata and checks -----------------------------------------


def test_cli_runs_are_recorded_in_the_instance_make_ui_reads(graded):
    home = graded / "dagster_home"
    assert dagster_home(graded / "warehouse.duckdb", {}) == home
    assert (REPO_ROOT / "dagster.yaml").read_text() == INSTANCE_YAML  # what `make ui` copies
    assert (home / "dagster.yaml").read_text() == INSTANCE_YAML
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="grade_month"))
        assert sorted(run.tags["dagster/partition"] for run in runs) == MONTHS
        for month in MONTHS:
            metadata = latest_metadata(instance, "merchant_grades", month)
            tiers = {
                k.removeprefix("tier_"): v for k, v in metadata.items() if k.startswith("tier_")
            }
            assert tiers == warehouse_counts(graded, "tier", month)


def test_level_metadata_sorts_numerically(graded):
    with dg.DagsterInstance.from_config(str(graded / "dagster_home")) as instance:
        metadata = latest_metadata(instance, "merchant_grades", MONTHS[-1])
    keys = [k for k in metadata if k.startswith("level_")]
    assert keys and all(len(k) == len("level_10") for k in keys)
    assert sorted(keys) == sorted(keys, key=lambda k: int(k.removeprefix("level_")))
    levels = {str(int(k.removeprefix("level_"))): metadata[k] for k in keys}
    assert levels == warehouse_counts(graded, "level", MONTHS[-1])


def test_check_results_belong_to_their_partition(graded):
    key = dg.AssetCheckKey(dg.AssetKey("merchant_grades"), "expectations")
    with dg.DagsterInstance.from_config(str(graded / "dagster_home")) as instance:
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
    assert sorted(record.partition for record in history) == MONTHS
    assert all(record.evaluation.passed for record in history)


# --- metadata, jobs ------------------------------------------------------------------------


def test_every_asset_has_its_groups_owner_and_there_are_five_groups():
    specs = list(defs.resolve_all_asset_specs())
    assert {spec.group_name for spec in specs} == GROUPS == set(GROUP_OWNERS)
    for spec in specs:
        assert spec.owners == [GROUP_OWNERS[spec.group_name]], spec.key


def test_every_asset_is_in_grade_month_on_one_partitions_definition():
    """What the UI's Materialize button needs to launch grade_month: each asset lists the
    job, and all share the job's partitions (the UI prefers the job whose page it is on)."""
    job = defs.resolve_job_def("grade_month")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {
        key.to_user_string() for asset in ALL_ASSETS for key in asset.keys
    }
    repository = defs.get_repository_def()
    # Imported here, by name: the attribute path works only once another test has
    # imported the module (this test failed when run alone).
    from dagster._core.remote_representation.external_data import RepositorySnap

    snapshot = RepositorySnap.from_def(repository)
    # at_risk_merchants needs an as-of day in its config: it is materialized on its own.
    outside = {
        n.asset_key.to_user_string()
        for n in snapshot.asset_nodes
        if "grade_month" not in n.job_names
    }
    assert outside == {"at_risk_merchants"}
    for node in snapshot.asset_nodes:
        assert node.partitions == snapshot.asset_nodes[0].partitions, node.asset_key
    checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
    assert checks == {"expectations"}  # the deadline check runs on its own schedule


# --- the deadline --------------------------------------------------------------------------


def test_a_month_is_due_before_the_third():
    """Spec: grades are "published before the 3rd"."""
    assert publication_deadline("2026-01") == datetime(2026, 2, 3, tzinfo=UTC)
    assert publication_deadline("2026-12") == datetime(2027, 1, 3, tzinfo=UTC)
    assert last_due_month(datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)) == "2026-01"
    assert last_due_month(datetime(2026, 3, 3, 0, 0, tzinfo=UTC)) == "2026-02"


def test_deadline_check_fails_on_a_month_not_published_before_the_third():
    published = {"2026-01": datetime(2026, 2, 2, 2, 0, tzinfo=UTC)}
    on_time = deadline_report("2026-01", published, datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert on_time.passed and on_time.overdue == []
    late = deadline_report("2026-01", published, datetime(2026, 3, 3, 0, 1, tzinfo=UTC))
    assert not late.passed and late.overdue == ["2026-02"]
    result = deadline_check_result(late)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert "2026-02 was due by 2026-03-02, end of day UTC" in result.description
    assert result.metadata["overdue_months"].value == ["2026-02"]


def test_deadline_check_lists_months_published_late():
    published = {"2026-01": datetime(2026, 2, 5, tzinfo=UTC)}
    report = deadline_report("2026-01", published, datetime(2026, 2, 10, tzinfo=UTC))
    assert report.passed and list(report.late) == ["2026-01"]


def test_a_month_published_at_its_deadline_instant_is_late():
    """Due before the 3rd: published at 00:00:00 on the 3rd is late, a second before is
    not."""
    now = datetime(2026, 2, 10, tzinfo=UTC)
    at_deadline = {"2026-01": datetime(2026, 2, 3, tzinfo=UTC)}
    assert deadline_report("2026-01", at_deadline, now).late == at_deadline
    just_before = {"2026-01": datetime(2026, 2, 2, 23, 59, 59, tzinfo=UTC)}
    assert deadline_report("2026-01", just_before, now).late == {}


def test_the_summary_dates_the_first_overdue_month():
    report = deadline_report("2026-01", {}, datetime(2026, 4, 2, tzinfo=UTC))
    assert report.overdue == ["2026-01", "2026-02"]
    assert report.summary() == (
        "2 month(s) not published by their deadline: 2026-01, 2026-02 "
        "(2026-01 was due by 2026-02-02, end of day UTC)"
    )


def test_a_month_restated_after_its_deadline_was_published_on_time(tmp_path):
    """Its first publication is what the deadline asks about, not its latest one."""
    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)
    try:
        con.execute(
            "INSERT INTO main.run_log (month, published_at, input_fingerprint, restated) "
            "VALUES ('2026-01', TIMESTAMP '2026-02-02 02:00:00', 'a', false), "
            "('2026-01', TIMESTAMP '2026-03-10 09:00:00', 'b', true)"
        )
    finally:
        con.close()
    first = first_publications(WarehouseResource(path=str(warehouse)))
    assert first == {"2026-01": datetime(2026, 2, 2, 2, tzinfo=UTC)}
    report = deadline_report("2026-01", first, datetime(2026, 3, 4, 1, tzinfo=UTC))
    assert report.overdue == ["2026-02"] and report.late == {}


def test_no_warehouse_yet_is_no_publication_and_stays_no_warehouse(tmp_path):
    """The daily check on a deployment that has not graded yet: every due month is
    overdue, and the check does not make the warehouse file."""
    warehouse = tmp_path / "w.duckdb"
    assert first_publications(WarehouseResource(path=str(warehouse))) == {}
    assert not warehouse.exists()


def test_deadline_check_runs_against_the_warehouse(graded):
    """The real check, through its job: the conformance months are long overdue after
    2026-02, so it fails and names the first missing month."""
    graded_defs = build_definitions(
        str(LANDING), str(graded / "warehouse.duckdb"), str(graded / "outputs")
    )
    result = graded_defs.resolve_job_def("check_publication_deadline").execute_in_process(
        raise_on_error=False
    )
    (evaluation,) = result.get_asset_check_evaluations()
    overdue = evaluation.metadata["overdue_months"].value
    assert not evaluation.passed and "2026-03" in overdue
    assert not set(MONTHS) & set(overdue)


# --- in a real browser, over dagster-webserver ---------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited ({process.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    pytest.fail(f"dagster-webserver did not answer within {seconds}s:\n{log.read_text()}")


def start_in_repository(command: list[str], environ: dict[str, str], log: Path) -> subprocess.Popen:
    """A Dagster process (webserver, daemon) run from the repository in a session of its
    own, its output in ``log``; stop it with ``stop_process_group``."""
    with log.open("w") as output:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (it and its code server), SIGKILL to what is
    left after a grace period."""
    group = process.pid
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def webserver(graded: Path) -> Iterator[str]:
    """``dagster-webserver`` on a free port of 127.0.0.1 over the graded warehouse, with
    the environment ``make ui`` sets; stopped by its process group."""
    if not WEBSERVER.is_file():
        pytest.skip(f"{WEBSERVER} is missing")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environ = without_configured_start(dict(os.environ))
    environ.update(
        DAGSTER_HOME=str(graded / "dagster_home"),
        GRADING_LANDING=str(LANDING),
        GRADING_WAREHOUSE=str(graded / "warehouse.duckdb"),
        GRADING_OUTPUTS=str(graded / "outputs"),
        PYTHONPATH=str(REPO_ROOT),
    )
    log = graded / "webserver.log"
    process = start_in_repository(
        [str(WEBSERVER), "-m", LOCATION, "-h", "127.0.0.1", "-p", str(port)], environ, log
    )
    try:
        wait_until_serving(url, process, log, seconds=300)
        dismiss_community_dialog(url)
        yield url
    finally:
        stop_process_group(process)


@pytest.fixture(scope="module")
def ui_page(browser, webserver: str) -> Iterator[object]:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.route("**/*", lambda route: _local_only(route, webserver))
    yield page


def _local_only(route, webserver: str) -> None:
    """Only the local server is reached; anything else (Dagster's outside links) is not."""
    if route.request.url.startswith(webserver):
        route.continue_()
    else:
        route.abort()


def open_page(page, url: str, text: str) -> None:
    """Go to ``url`` and wait for ``text`` (Dagster's community dialog no longer opens:
    ``dismiss_community_dialog``)."""
    page.goto(url)
    page.get_by_text(text, exact=True).first.wait_for(timeout=90_000)


def dismiss_community_dialog(url: str) -> None:
    """Tell the server its first-visit community dialog was seen, as its Skip button does.

    The UI opens that dialog a second after a page loads, over whatever dialog a test has
    open: a click on the launch dialog then lands on the community dialog's backdrop.
    """
    assert graphql(url, "mutation { setNuxSeen }")["setNuxSeen"] is True
    assert graphql(url, "{ shouldShowNux }")["shouldShowNux"] is False


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["data"]


@pytest.mark.browser
def test_ui_shows_the_asset_graph(ui_page, webserver):
    open_page(ui_page, f"{webserver}/asset-groups", "Global asset lineage")
    for group in GROUPS:
        ui_page.get_by_text(group, exact=True).first.wait_for(timeout=30_000)
    open_page(ui_page, f"{webserver}/assets/merchant_grades?view=lineage", "merchant_grades")
    for neighbour in ("credit_ledger", "exposure_weights", "tier_distribution"):
        ui_page.get_by_text(neighbour, exact=True).first.wait_for(timeout=30_000)


@pytest.mark.browser
def test_ui_shows_a_partitions_metadata_as_in_the_warehouse(ui_page, webserver, graded):
    month = MONTHS[0]
    url = f"{webserver}/assets/merchant_grades?view=partitions&partition={month}"
    open_page(ui_page, url, "tier_excellent")
    body = ui_page.inner_text("body")
    assert "Materialized (2)" in body and "Missing (0)" not in body
    tiers = warehouse_counts(graded, "tier", month)
    rows = ui_page.locator("tr", has_text="tier_excellent").first.inner_text()
    assert str(tiers["excellent"]) in rows
    assert body.index("level_00") < body.index("level_01") < body.index("level_02")
    ARTIFACTS.mkdir(exist_ok=True)
    ui_page.screenshot(path=str(ARTIFACTS / "dagster_partition.png"), full_page=True)


@pytest.mark.browser
def test_ui_shows_a_check_result_on_its_partition(ui_page, webserver):
    open_page(ui_page, f"{webserver}/assets/merchant_grades?view=checks", "Evaluation result")
    # The panel fills in after its header: a read too early sees a placeholder row
    # ("Running", no partition). Waiting for the verdict still fails if it never shows.
    ui_page.get_by_text("Passed", exact=True).first.wait_for(timeout=60_000)
    panel = ui_page.inner_text("body")
    assert "expectations" in panel and "Passed" in panel
    latest = re.search(r"^Partition\s*\n\s*(\S+)", panel, re.MULTILINE)
    assert latest and latest.group(1) == MONTHS[-1], panel
    ARTIFACTS.mkdir(exist_ok=True)
    ui_page.screenshot(path=str(ARTIFACTS / "dagster_check.png"), full_page=True)


@pytest.mark.browser
def test_materialize_on_the_job_page_launches_grade_month_for_the_partition(ui_page, webserver):
    open_page(ui_page, f"{webserver}/locations/{LOCATION}/jobs/grade_month", "grade_month")
    ui_page.get_by_role("button", name="Materialize all…").click()
    # Only the launch dialog, should any other dialog open meanwhile.
    dialog = ui_page.get_by_role("dialog").filter(has_text="Launch runs")
    partitions = dialog.get_by_placeholder("ex:", exact=False)
    partitions.fill("2026-03")
    partitions.press("Enter")
    launch = dialog.get_by_role("button", name="Launch 1 run")
    launch.wait_for(timeout=30_000)
    ui_page.wait_for_timeout(1000)  # the selection settles before the launch reads it
    assert ui_page.get_by_text("Join the Dagster community").count() == 0
    launch.click()
    try:
        dialog.wait_for(state="hidden", timeout=60_000)
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        ui_page.screenshot(path=str(ARTIFACTS / "dagster_launched.png"), full_page=True)
    query = "{ runsOrError { ... on Runs { results { jobName tags { key value } } } } }"
    deadline = time.monotonic() + 60
    launched = []
    while not launched and time.monotonic() < deadline:
        runs = graphql(webserver, query)["runsOrError"]["results"]
        launched = [
            run for run in runs if {"key": "dagster/from_ui", "value": "true"} in run["tags"]
        ]
        time.sleep(1)
    assert launched, "no run was launched from the UI"
    assert launched[0]["jobName"] == "grade_month"
    assert {"key": "dagster/partition", "value": "2026-03"} in launched[0]["tags"]
