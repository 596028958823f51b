"""Sign-in throttling's counters, shared by every web worker through the database (web/db_limits.py)."""
from __future__ import annotations

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base


class RateLimit(Base):
    """One throttled key (e.g. an account tried from one address): its counter for a fixed window, its
    recent hits for a moving window, and when the row means nothing any more (deleted after that)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    #: The moving window's hits as a JSON list of Unix times, newest first, at most the limit's amount.
    hits: Mapped[str] = mapped_column(Text, default="[]")
    #: Unix time (the web workers' clock, as the `limits` library counts) after which the row is void.
    expires_at: Mapped[float] = mapped_column(Float, index=True)
