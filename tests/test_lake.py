"""The Spark engine's lake swaps a month's partitions all or none (no Spark needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.spark_engine.lake import Lake

MONTH = "2026-02"
PARTITIONS = (("raw", "feedback"), ("raw", "orders"), ("quarantine", "orders"))


def _write(folder: Path, content: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-0.parquet").write_text(content)


def _lake_with_a_published_and_a_staged_month(root: Path) -> Lake:
    lake = Lake(str(root))
    for table, name in PARTITIONS:
        _write(lake.partition(table, name, MONTH), f"old {table}/{name}")
        _write(lake.staged(table, name, MONTH), f"new {table}/{name}")
    return lake


def _published(lake: Lake) -> dict[str, str]:
    return {
        f"{table}/{name}": (lake.partition(table, name, MONTH) / "part-0.parquet").read_text()
        for table, name in PARTITIONS
    }


def test_publish_replaces_every_partition_of_the_month(tmp_path: Path) -> None:
    lake = _lake_with_a_published_and_a_staged_month(tmp_path)
    moved = lake.publish(MONTH)
    assert sorted(moved) == sorted(f"{t}/{n}" for t, n in PARTITIONS)
    assert _published(lake) == {f"{t}/{n}": f"new {t}/{n}" for t, n in PARTITIONS}
    assert not (tmp_path / "_staging" / f"month={MONTH}").exists()
    assert not list(tmp_path.rglob(".replaced-*"))


def test_a_publish_failing_half_way_leaves_the_previous_month_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second partition's rename fails after the first was swapped: the first is put
    back, so the lake holds the old month whole, as the warehouse does after a failed
    publication; the staged month stays, and a later publish completes it."""
    lake = _lake_with_a_published_and_a_staged_month(tmp_path)
    real_rename = Path.rename
    moved_in: list[Path] = []

    def rename_failing_on_the_second_move_in(self: Path, target: Path) -> Path:
        if "_staging" in self.parts:
            if moved_in:
                raise OSError(28, "No space left on device")
            moved_in.append(self)
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename_failing_on_the_second_move_in)
    with pytest.raises(OSError, match="No space left"):
        lake.publish(MONTH)
    monkeypatch.undo()

    assert _published(lake) == {f"{t}/{n}": f"old {t}/{n}" for t, n in PARTITIONS}
    assert not list(tmp_path.rglob(".replaced-*"))
    for table, name in PARTITIONS:
        staged = lake.staged(table, name, MONTH) / "part-0.parquet"
        assert staged.read_text() == f"new {table}/{name}"

    lake.publish(MONTH)
    assert _published(lake) == {f"{t}/{n}": f"new {t}/{n}" for t, n in PARTITIONS}
