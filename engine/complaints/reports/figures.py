"""What a report holds: each figure beside the previous period's, and the rows of its tables."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.complaints.reports.periods import Period


@dataclass(frozen=True)
class Figure:
    """One figure in this period and the previous one; `key` names the group it counts, if any."""

    current: float | None
    previous: float | None
    key: str | None = None

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def pct(self) -> float | None:
        """The change in per cent of the previous value (None when there was nothing to compare with)."""
        if self.delta is None or not self.previous:
            return None
        return 100.0 * self.delta / self.previous


@dataclass(frozen=True)
class ResponseTimes:
    """Time to first response (seconds) of one level, or of all (`level` == ALL)."""

    level: str
    limit: float | None
    responded: Figure
    median: Figure
    p90: Figure
    within_limit: Figure
    breached: Figure
    waiting: Figure


@dataclass(frozen=True)
class PenaltyRow:
    """Deadline breaches and penalties (¥) of one person or department."""

    key: str
    department: str | None
    breaches: Figure
    amount: Figure


@dataclass(frozen=True)
class Repeat:
    """A complainant (contact) with more than one complaint in the period."""

    contact: str
    name: str
    complaints: int


@dataclass(frozen=True)
class Report:
    kind: str
    period: Period
    previous: Period
    department: str | None
    generated_at: datetime
    total: Figure
    closed: Figure
    by_category: list[Figure]
    by_level: list[Figure]
    by_department: list[Figure]
    by_channel: list[Figure]
    validity_rate: Figure
    first_response: list[ResponseTimes]
    breaches: Figure
    penalty_amount: Figure
    penalties_by_person: list[PenaltyRow]
    penalties_by_department: list[PenaltyRow]
    rounds_average: Figure
    rounds: list[Figure]
    satisfaction_rate: Figure
    surveys: Figure
    survey_rating: Figure
    repeat_complainants: Figure
    repeat_complaints: Figure
    top_repeat: list[Repeat]
    top_causes: list[Figure]
    top_products: list[Figure]
    timeline: list[Figure] = field(default_factory=list)
    #: Logistics complaints by sub-type (丢件/破损/延误/地址错误/少发/错发), most first.
    by_logistics_issue: list[Figure] = field(default_factory=list)
    #: Complaints closed as harassment / malicious, by channel (their source), most first.
    malicious_by_channel: list[Figure] = field(default_factory=list)
    #: Complaints the customer withdrew (撤诉, closed at `end_withdrawn`), by channel, most first.
    withdrawn_by_channel: list[Figure] = field(default_factory=list)
    #: The share of automatic category suggestions the agents kept at the validity check (engine.complaints.classify).
    suggestion_kept: Figure = field(default_factory=lambda: Figure(None, None))
