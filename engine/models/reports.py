"""The analysis report's review by the general manager, the departments' acknowledgements, and the
order volumes behind the complaint rate."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base


class ReportReview(Base):
    """The company-wide analysis report of one period on its way to the departments (engine.complaints.
    report_review): submitted by the agent team, reviewed and signed by the general manager with comments (which
    sends it to every department head), acknowledged by each head (`ReportAcknowledgement`)."""

    __tablename__ = "report_reviews"
    __table_args__ = (UniqueConstraint("kind", "first_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    first_day: Mapped[date] = mapped_column(Date)
    #: ``submitted`` (waiting for the general manager) or ``sent`` (signed and sent to the departments).
    state: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]
    gm_comment: Mapped[str | None] = mapped_column(Text)


class ReportAcknowledgement(Base):
    """A department head's receipt of a signed report: sent when signed, acknowledged when they confirm it."""

    __tablename__ = "report_acknowledgements"
    __table_args__ = (UniqueConstraint("review_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("report_reviews.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    department: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]


class OrderVolume(Base):
    """How many orders a report period had (entered or imported from CSV): the complaint rate's denominator."""

    __tablename__ = "order_volumes"
    __table_args__ = (UniqueConstraint("kind", "first_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    first_day: Mapped[date] = mapped_column(Date)
    orders: Mapped[int] = mapped_column(Integer)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime]
