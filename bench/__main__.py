"""Run every benchmark and print its figures: `make bench` (or `python -m bench [name ...]`)."""
import sys

from bench import engine_vs_raw, lifecycles, load, reports, timers

BENCHMARKS = {"engine": engine_vs_raw.run, "lifecycles": lifecycles.run, "timers": timers.run, "reports": reports.run,
              "load": load.run}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHMARKS):
        BENCHMARKS[name]()
