"""Run every benchmark and print its figures."""
from bench import engine_vs_raw

if __name__ == "__main__":
    engine_vs_raw.run()
