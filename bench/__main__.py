"""Run every benchmark and print its figures: `make bench` (or `python -m bench [name ...] [--option=value]`;
options go to the benchmarks that take them, e.g. `python -m bench burst --complaints=2000`)."""
import sys

from bench import burst, engine_vs_raw, lifecycles, load, reports, startup, timers

BENCHMARKS = {"engine": engine_vs_raw.run, "lifecycles": lifecycles.run, "timers": timers.run, "burst": burst.run,
              "reports": reports.run, "load": load.run, "startup": startup.run}

if __name__ == "__main__":
    for name in [a for a in sys.argv[1:] if not a.startswith("-")] or list(BENCHMARKS):
        BENCHMARKS[name]()
