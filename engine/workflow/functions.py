"""Functions that model expressions and scripts may call (beyond the sandbox's builtins)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine import clock, workcalendar
from engine.errors import BadModelValue, Code


def parse_duration(duration: str) -> timedelta:
    """An ISO 8601 duration ("PT30M", "P1DT2H") as a timedelta (years/months are not allowed)."""
    parts = TimerEventDefinition.parse_iso_duration(duration)
    if parts.get("years") or parts.get("months"):
        raise BadModelValue(f"duration {duration!r}: years and months have no fixed length",
                            Code.RUN_DURATION_NOT_FIXED, duration=duration)
    return TimerEventDefinition.get_timedelta_from_start(parts)


def format_duration(delta: timedelta) -> str:
    """A timedelta as an ISO 8601 duration in whole seconds."""
    seconds = max(0, int(delta.total_seconds()))
    return f"PT{seconds}S"


def duration_fraction(duration: str, ratio: float) -> str:
    """`ratio` of an ISO duration, as a duration: duration_fraction("PT30M", 0.8) == "PT1440S"."""
    if not 0 <= ratio <= 1:
        raise BadModelValue("ratio must be between 0 and 1", Code.RUN_RATIO_RANGE, ratio=ratio)
    return format_duration(parse_duration(duration) * ratio)


def now() -> str:
    """The program clock's time as an ISO 8601 UTC date-time (scripts stamp when something happened)."""
    return clock.now().isoformat()


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def deadline(start: str, duration: str, basis: str = "clock", department: str | None = None) -> str:
    """When a limit of `duration` counted from `start` (ISO date-time) runs out, as an ISO date-time for a
    timeDate timer. `basis`: clock, working (the department's working time) or daytime (out of quiet hours);
    docs/data-dictionary.md explains each."""
    return workcalendar.due(_moment(start), parse_duration(duration), basis, department).isoformat()


def warning(start: str, duration: str, ratio: float, basis: str = "clock", department: str | None = None) -> str:
    """When to warn that a limit is running out: after `ratio` of it (counted as `deadline` counts), never in
    quiet hours for a daytime limit."""
    if not 0 <= ratio <= 1:
        raise BadModelValue("ratio must be between 0 and 1", Code.RUN_RATIO_RANGE, ratio=ratio)
    part = parse_duration(duration) * ratio
    begun = _moment(start)
    if basis == "daytime":  # warn at the same distance before the (possibly moved) deadline
        due = workcalendar.due(begun, parse_duration(duration), basis, department)
        return (due - (parse_duration(duration) - part)).isoformat()
    return workcalendar.due(begun, part, basis, department).isoformat()


#: What a timer waits for when its limit does not apply now (the first contact, once the customer was reached).
NO_DEADLINE = "9999-12-31T23:59:59+00:00"


def no_deadline() -> str:
    """A date no timer reaches: for a limit that does not apply in this visit of a task."""
    return NO_DEADLINE


def is_no_deadline(moment: datetime) -> bool:
    """Is this the date of `no_deadline()` (a timer that never fires)?"""
    return moment.year == 9999


def call_time(start: str, duration: str) -> str:
    """When a customer call falls due: `duration` after `start`, moved out of the quiet hours."""
    return deadline(start, duration, "daytime")


def day_after(day: str) -> str:
    """The start of the day after `day` (an ISO date, as the staff's calendar has it) in the staff's time zone,
    as an ISO UTC date-time: a window of whole days after a date (the 15 days after 交易成功) counts from it."""
    following = date.fromisoformat(day) + timedelta(days=1)
    return datetime.combine(following, time(), ZoneInfo(workcalendar.zone_name())).astimezone(UTC).isoformat()


class _ServerTime:
    """A model function that reads the program's clock or the working-time calendar.

    Model code runs in sandbox worker processes (engine/workflow/sandbox/isolation.py) that have neither the
    program's clock (set by tests and demos), nor its configured time zone, nor the working calendar the
    administrator entered (read from the database before each step). Pickled for a worker, the function takes
    all three along as they are in the server at that moment, so `now()` in a model is the server's now and a
    deadline counts the company's holidays. (The schedule is one object: pickle sends it once per call.)
    """

    def __init__(self, function):
        self.function = function

    def __call__(self, *args):
        return self.function(*args)

    def __reduce__(self):
        return _in_worker, (self.function, clock.now().isoformat(), workcalendar.zone_name(),
                            workcalendar.current())


def _in_worker(function, now_iso: str, zone: str, schedule: workcalendar.Schedule) -> _ServerTime:
    """Unpickling in a sandbox worker: take over the server's time, zone and working calendar for this call."""
    clock.set_now(datetime.fromisoformat(now_iso))
    workcalendar.configure(zone)
    workcalendar.use(schedule)
    return _ServerTime(function)


#: Names models may call, handed to the sandbox.
MODEL_FUNCTIONS = {"duration_fraction": duration_fraction, "now": _ServerTime(now),
                   "deadline": _ServerTime(deadline), "warning": _ServerTime(warning),
                   "call_time": _ServerTime(call_time), "no_deadline": no_deadline,
                   "day_after": _ServerTime(day_after)}
