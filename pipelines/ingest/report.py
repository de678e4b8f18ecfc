"""What one dataset-month ingest did: the record the assets and the run log read."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IngestReport:
    """What one dataset-month ingest did, for asset metadata and the run log."""

    dataset: str
    month: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    exact_copies: int = 0
    rows_accepted: int = 0
    files_digest: str = ""
    fingerprint: str = ""
    quarantined: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return sum(self.quarantined.values())
