"""The pupils' list at two sizes and beside stock Flask-Admin, timed turn by turn in one process.

    python -m bench.paired --small URL_30K --large URL_3M [--runs 40] [--json F]

bench/list_pages.py times one database after the other. On a shared 2-vCPU machine its speed
drifts by a third between two runs a minute apart (the same page's CPU time moved from 14 to
10 ms between the 30k and the 3M run of one `bench/run.sh`), so a 30k→3M ratio taken across runs
measures the machine as much as the page. Here both databases are open in one process (one app
each, the same code and settings), and each run loads, for each of the four bench users, the
project's page and stock Flask-Admin's (bench/stock_admin.py) on the 30k database and on the 3M
one, in an order that rotates from run to run. The ratios (3M ÷ 30k for target 5, stock ÷
project for target 4) are then taken between loads a few milliseconds apart.

The project's list keeps its page frame a minute per account and URL (admin/list_frames.py), so
its repeated loads here are the kept frame around freshly read rows. The 3M page is also timed with
the frame not kept (LIST_FRAME_SECONDS=0 for that load: the page as a first visit to a URL renders
it), in the same rotation, and reported beside the verdicts.

Prints wall-time medians (p90 / best), the CPU time of the request in this process, and the two
targets' verdicts; writes them to --json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from itertools import permutations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import BENCH_DOMAIN, bench_config  # noqa: E402
from bench.list_pages import LEVELS, LIST_URL, STOCK_URL, log, login, pct, wait_for_quiet  # noqa: E402

# (database, path, the frame kept): the last is the project's 3M page rendered in full every time
PAGES = (("small", LIST_URL, True), ("small", STOCK_URL, True), ("large", LIST_URL, True), ("large", STOCK_URL, True),
         ("large", LIST_URL, False))
GROWTH_TARGET, STOCK_TARGET = 1.2, 3.0


def _login(app, email: str):
    for _attempt in range(3):  # an authority account's TOTP code is good once per 30 s step
        try:
            return login(app, email)
        except SystemExit:
            time.sleep(31)
    return login(app, email)


def measure(small_url: str, large_url: str, runs: int, warmup: int) -> dict:
    from app import create_app
    from bench import stock_admin

    apps = {}
    for size, url in (("small", small_url), ("large", large_url)):
        apps[size] = create_app(bench_config(url))
        stock_admin.install(apps[size])
    orders = list(permutations(range(len(PAGES))))
    out: dict[str, dict] = {}
    for level in LEVELS:
        email = f"bench-{level}@{BENCH_DOMAIN}"
        clients = {size: _login(app, email) for size, app in apps.items()}
        for size, path, kept in PAGES:
            apps[size].config["LIST_FRAME_SECONDS"] = 60 if kept else 0
            for _ in range(warmup):
                assert clients[size].get(path).status_code == 200, (level, size, path)
        wall: dict[tuple[str, str, bool], list[float]] = {p: [] for p in PAGES}
        cpu: dict[tuple[str, str, bool], list[float]] = {p: [] for p in PAGES}
        for run in range(runs):
            for i in orders[run % len(orders)]:
                size, path, kept = page = PAGES[i]
                apps[size].config["LIST_FRAME_SECONDS"] = 60 if kept else 0
                c0, t0 = time.thread_time(), time.perf_counter()
                status = clients[size].get(path).status_code
                wall[page].append((time.perf_counter() - t0) * 1000)
                cpu[page].append((time.thread_time() - c0) * 1000)
                if status != 200:
                    raise SystemExit(f"{email}: {size} {path} answered HTTP {status}")
        row = {}
        for (size, path, kept), values in wall.items():
            who = ("project" if kept else "project_unkept") if path == LIST_URL else "stock"
            row[f"{size}_{who}"] = {"median": statistics.median(values), "p90": pct(values, 0.9), "best": min(values),
                                     "cpu_median": statistics.median(cpu[(size, path, kept)]), "runs": values}
        out[level] = row
        log(f"[paired] {level}: " + ", ".join(f"{k} {v['median']:.1f} ms" for k, v in row.items()))
    return {"small": small_url, "large": large_url, "runs": runs, "levels": out,
            "loadavg_end": os.getloadavg()[0]}


def report(res: dict) -> str:
    lines = [f"runs: {res['runs']} per page, turn by turn; load average at the end {res['loadavg_end']:.1f}",
             "scope     | 30k project      | 30k stock        | 3M project       | 3M stock         | "
             "stock/project 30k | stock/project 3M | project 3M/30k | CPU 3M/30k",
             "-" * 150]
    verdict_stock, verdict_growth = [], []
    def cell(row: dict, key: str) -> str:
        v = row[key]
        return f"{v['median']:6.1f} ({v['p90']:.0f}/{v['best']:.0f})".ljust(16)

    for level, row in res["levels"].items():
        s30 = row["small_stock"]["median"] / row["small_project"]["median"]
        s3m = row["large_stock"]["median"] / row["large_project"]["median"]
        growth = row["large_project"]["median"] / row["small_project"]["median"]
        growth_cpu = row["large_project"]["cpu_median"] / row["small_project"]["cpu_median"]
        lines.append(f"{level:9s} | {cell(row, 'small_project')} | {cell(row, 'small_stock')} | "
                     f"{cell(row, 'large_project')} | {cell(row, 'large_stock')} | "
                     f"{s30:16.2f}x | {s3m:15.2f}x | {growth:13.2f}x | {growth_cpu:9.2f}x")
        verdict_stock.append((level, s3m))
        verdict_growth.append((level, growth))
    lines.append("")
    met = all(r >= STOCK_TARGET for _l, r in verdict_stock)
    lines.append(f"target 4 (3M, stock ÷ project ≥ {STOCK_TARGET:g}): " + ", ".join(f"{lvl} {r:.2f}x" for lvl, r in verdict_stock)
                 + f" — {'MET' if met else 'NOT MET'}")
    met = all(g <= GROWTH_TARGET for _l, g in verdict_growth)
    lines.append(f"target 5 (project 3M ÷ 30k ≤ {GROWTH_TARGET:g}): " + ", ".join(f"{lvl} {g:.2f}x" for lvl, g in verdict_growth)
                 + f" — {'MET' if met else 'NOT MET'}")
    unkept = [(lvl, row) for lvl, row in res["levels"].items() if "large_project_unkept" in row]
    if unkept:
        lines.append("3M, the frame not kept (a first visit to a URL): " + ", ".join(
            f"{lvl} {row['large_project_unkept']['median']:.1f} ms, stock ÷ it "
            f"{row['large_stock']['median'] / row['large_project_unkept']['median']:.2f}x" for lvl, row in unkept))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", required=True, help="the 30k database")
    ap.add_argument("--large", required=True, help="the 3M database")
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="S")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)
    res = measure(args.small, args.large, args.runs, args.warmup)
    text = report(res)
    log("\n" + text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({**res, "report": text}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
