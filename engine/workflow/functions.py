"""Functions that model expressions and scripts may call (beyond the sandbox's builtins)."""
from __future__ import annotations

from datetime import timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def parse_duration(duration: str) -> timedelta:
    """An ISO 8601 duration ("PT30M", "P1DT2H") as a timedelta (years/months are not allowed)."""
    parts = TimerEventDefinition.parse_iso_duration(duration)
    if parts.get("years") or parts.get("months"):
        raise ValueError(f"duration {duration!r}: years and months have no fixed length")
    return TimerEventDefinition.get_timedelta_from_start(parts)


def format_duration(delta: timedelta) -> str:
    """A timedelta as an ISO 8601 duration in whole seconds."""
    seconds = max(0, int(delta.total_seconds()))
    return f"PT{seconds}S"


def duration_fraction(duration: str, ratio: float) -> str:
    """`ratio` of an ISO duration, as a duration: duration_fraction("PT30M", 0.8) == "PT1440S"."""
    if not 0 <= ratio <= 1:
        raise ValueError("ratio must be between 0 and 1")
    return format_duration(parse_duration(duration) * ratio)


#: Names models may call, handed to the sandbox.
MODEL_FUNCTIONS = {"duration_fraction": duration_fraction}
