"""Dataset registration (read + validate + schema + profile + Parquet
snapshot + metadata row) against the floor of plain
``pyarrow.csv.read_csv`` + ``pyarrow.parquet.write_table`` of the same file.

    python benchmarks/dataset_register.py [--rows 1000000] [--repeat 3]

Each measurement runs in a fresh subprocess so peak RSS is that of one
registration; the 1M-row registration must stay under 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT.parent / "shared" / "data" / "bankmarketing" / "train.csv"
MEMORY_LIMIT_MB = 1536

_SLIPWAY = """
import sys, time
from slipway import Workspace
import pyarrow.csv  # the peer's import is not timed either
with Workspace(sys.argv[1] + "/ws") as ws:  # schema creation is once per workspace: not timed
    t = time.perf_counter()
    ws.datasets.register("bench", sys.argv[2])
    print(time.perf_counter() - t)
"""
_PYARROW = """
import sys, time
import pyarrow.csv, pyarrow.parquet
t = time.perf_counter()
pyarrow.parquet.write_table(pyarrow.csv.read_csv(sys.argv[2]), sys.argv[1] + "/out.parquet")
print(time.perf_counter() - t)
"""
# Runs one child and prints its seconds and peak RSS; a wrapper per
# measurement because RUSAGE_CHILDREN is a high-water mark over all children.
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(r.stderr)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
    "print(r.stdout.strip().splitlines()[-1] if r.returncode == 0 else 'failed', peak)\n"
    "sys.exit(r.returncode)\n"
)


def _measure(code: str, csv: Path, tmp: Path) -> tuple[float, float]:
    """(seconds measured inside a fresh child, that child's peak RSS in MB)."""
    out = tempfile.mkdtemp(dir=tmp)
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, sys.executable, "-c", code, out,
                           str(csv)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr}")
    seconds, peak = proc.stdout.split()
    return float(seconds), float(peak)


def _one(label: str, csv: Path, tmp: Path, repeat: int) -> dict[str, object]:
    slipway_s, pyarrow_s, peaks = [], [], []
    for _ in range(repeat):
        pyarrow_s.append(_measure(_PYARROW, csv, tmp)[0])
        seconds, peak = _measure(_SLIPWAY, csv, tmp)
        slipway_s.append(seconds)
        peaks.append(peak)
    s, p = statistics.median(slipway_s), statistics.median(pyarrow_s)
    return {"file": label, "size_mb": round(csv.stat().st_size / 2**20, 1),
            "slipway_s": round(s, 3), "pyarrow_s": round(p, 3), "ratio": round(s / p, 2),
            "slipway_s_all": [round(x, 3) for x in slipway_s],
            "pyarrow_s_all": [round(x, 3) for x in pyarrow_s],
            "slipway_peak_rss_mb": round(max(peaks))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not BANK.is_file():
        raise SystemExit(f"real data missing: {BANK}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        from slipway.samples import write_bank_marketing_csv

        started = time.perf_counter()
        big = write_bank_marketing_csv(tmp / "big.csv", n_rows=args.rows, seed=1)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f}s")
        results = [_one("bankmarketing train.csv (26,361 rows)", BANK, tmp, args.repeat),
                   _one(f"synthetic ({args.rows:,} rows)", big, tmp, args.repeat)]
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'file':42} {'MB':>7} {'slipway s':>10} {'pyarrow s':>10} {'ratio':>6} {'peak MB':>8}")
    for r in results:
        print(f"{r['file']:42} {r['size_mb']:>7} {r['slipway_s']:>10} {r['pyarrow_s']:>10} "
              f"{r['ratio']:>6} {r['slipway_peak_rss_mb']:>8}")
    print(json.dumps(results))
    peak = results[-1]["slipway_peak_rss_mb"]
    assert isinstance(peak, (int, float))
    if args.rows >= 1_000_000 and peak > MEMORY_LIMIT_MB:
        raise SystemExit(f"peak memory {peak} MB is over the {MEMORY_LIMIT_MB} MB budget")


if __name__ == "__main__":
    main()
