"""A month's latest publication is read from main.run_log in one place.

The run key, the policy-rollback refusal, the preview, the publication report and
``grading explain`` each ask "what is this month now?"; they must all take the same row:
the newest by ``published_at``, whatever order the rows were written in.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.publication_log import latest_publication
from pipelines.run_key import latest_run_key
from pipelines.warehouse import connect

INSERT = """
INSERT INTO main.run_log (month, published_at, input_fingerprint, policy_version, restated,
    old_tier_counts, new_tier_counts, run_key, restatement_reason, policy_digest,
    policy_override)
VALUES ($month, CAST($at AS TIMESTAMP), 'f', $version, $restated, $old, $new, $key, $reason,
    $digest, $override)
"""


def publish(con, month: str, at: str, key: str, **fields) -> None:
    values = {
        "version": "2026.1",
        "restated": False,
        "old": None,
        "new": '{"good": 2}',
        "reason": None,
        "digest": "d1",
        "override": None,
    } | fields
    con.execute(INSERT, {"month": month, "at": at, "key": key, **values})


def test_the_newest_publication_is_the_month_whatever_order_it_was_written_in(tmp_path: Path):
    con = connect(tmp_path / "w.duckdb")
    try:
        publish(con, "2026-02", "2026-03-02 10:00:00", "k-old")
        publish(
            con,
            "2026-02",
            "2026-04-01 09:00:00",
            "k-new",
            version="2026.2",
            restated=True,
            old='{"good": 2}',
            new='{"excellent": 2}',
            reason="policy 2026.1 -> 2026.2",
            digest="d2",
            override=True,
        )
        publish(con, "2026-02", "2026-03-20 08:00:00", "k-middle")
        publish(con, "2026-03", "2026-04-01 09:00:01", "k-march", override=None)
        latest = latest_publication(con, "2026-02")
        march = latest_publication(con, "2026-03")
        assert latest_publication(con, "2026-01") is None
        assert latest_run_key(con, "2026-01") == ""
        assert latest_run_key(con, "2026-02") == "k-new"
    finally:
        con.close()
    assert latest is not None and march is not None
    assert (latest.run_key, latest.policy_version, latest.policy_digest) == (
        "k-new",
        "2026.2",
        "d2",
    )
    assert latest.policy_override is True and latest.restated is True
    assert latest.restatement_reason == "policy 2026.1 -> 2026.2"
    assert (latest.old_tier_counts, latest.new_tier_counts) == ('{"good": 2}', '{"excellent": 2}')
    assert str(latest.published_at) == "2026-04-01 09:00:00"
    # A publication recorded before overrides were kept (NULL) was not an override.
    assert march.policy_override is False and march.run_key == "k-march"
