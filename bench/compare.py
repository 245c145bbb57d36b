"""Print the list_pages tables of two runs (small and large database) and the large/small ratios.

    python -m bench.compare SMALL.json LARGE.json [--gen SMALL_GEN.json LARGE_GEN.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.list_pages import LEVELS, table


def _label(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k" if n >= 1000 else str(n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("small")
    ap.add_argument("large")
    ap.add_argument("--gen", nargs=2, metavar=("SMALL_GEN", "LARGE_GEN"))
    args = ap.parse_args(argv)
    small, large = (json.loads(Path(p).read_text()) for p in (args.small, args.large))
    a, b = _label(small["total_pupils"]), _label(large["total_pupils"])

    if args.gen:
        print("== generation timings (s)")
        for path in args.gen:
            g = json.loads(Path(path).read_text())
            phases = ", ".join(f"{k} {v:.1f}" for k, v in g["timings_s"].items())
            print(f"  {_label(g['pupils'])}: total {g['total_s']:.1f} — {phases}")
        print()
    for name, res in ((a, small), (b, large)):
        print(f"== {name}")
        print(table(res))
        print()
    print(f"== ratio {b}/{a} (median)")
    head = (f"{'level':<9} | {'scope ' + a:>10} | {'scope ' + b:>10} | {'page ' + a:>9} | {'page ' + b:>9} | {'page x':>7} | "
            f"{'raw ' + a:>9} | {'raw ' + b:>9} | {'raw x':>7}")
    print(head)
    print("-" * len(head))
    for level in LEVELS:
        s, g = small["levels"][level], large["levels"][level]
        print(f"{level:<9} | {s['in_scope']:>10,} | {g['in_scope']:>10,} | {s['page_median_ms']:>9.2f} | {g['page_median_ms']:>9.2f} | "
              f"{g['page_median_ms'] / s['page_median_ms']:>7.2f} | {s['raw_median_ms']:>9.2f} | {g['raw_median_ms']:>9.2f} | "
              f"{g['raw_median_ms'] / s['raw_median_ms']:>7.2f}")
    print("(page/raw ms are medians; x = large/small)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
