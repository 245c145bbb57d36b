"""Print the list_pages tables of the small and large runs, their ratios, and the verdict.

    python -m bench.compare SMALL.json LARGE.json [--gen SMALL_GEN.json LARGE_GEN.json]
        [--by-school SMALL.json LARGE.json] [--gen-by-school SMALL_GEN.json LARGE_GEN.json] [--strict]

SMALL/LARGE are list_pages results with the default (interleaved) id order; --by-school gives
the same pair for pupils numbered school by school (bench.generate --id-order by-school).

Targets checked at the end:
  1. school and county pages at the large size cost at most 1.5x what they cost at the small
     size (page medians, same id order);
  2. no page costs more than 3x its raw SQL (the page's student queries replayed with psycopg);
     the page also renders Flask/Jinja (~10 ms), so the absolute figures are printed too;
  3. the province list runs no COUNT.
The access path of every list query (list_pages.EXPECTED_INDEX) is reported as well.
--strict: exit 1 when a target is not met (default: exit 0, the verdict is printed).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from bench.list_pages import EXPECTED_INDEX, LEVELS, _label, province_student_counts, table

GROWTH_LEVELS = ("school", "county")
MAX_GROWTH = 1.5
MAX_PAGE_OVER_RAW = 3.0
# Issue 15, point 8: against stock Flask-Admin (bench/stock_admin.py), every scope.
MIN_STOCK_OVER_PROJECT = 3.0
MAX_GROWTH_EVERY_SCOPE = 1.2


def _load(path: str) -> dict:
    return json.loads(Path(path).read_text())


def ratio_table(small: dict, large: dict) -> list[str]:
    a, b = _label(small["total_pupils"]), _label(large["total_pupils"])
    head = (f"{'level':<9} | {'scope ' + a:>10} | {'scope ' + b:>10} | {'page ' + a:>9} | {'page ' + b:>9} | {'page x':>7} | "
            f"{'raw ' + a:>9} | {'raw ' + b:>9} | {'raw x':>7} | {'min page x':>10}")
    out = [f"== ratio {b}/{a} (median)", head, "-" * len(head)]
    for level in LEVELS:
        s, g = small["levels"][level], large["levels"][level]
        out.append(f"{level:<9} | {s['in_scope']:>10,} | {g['in_scope']:>10,} | {s['page_median_ms']:>9.2f} | "
                   f"{g['page_median_ms']:>9.2f} | {g['page_median_ms'] / s['page_median_ms']:>7.2f} | "
                   f"{s['raw_median_ms']:>9.2f} | {g['raw_median_ms']:>9.2f} | {g['raw_median_ms'] / s['raw_median_ms']:>7.2f} | "
                   f"{_min_ratio(s, g):>10.2f}")
    out.append("(page/raw ms are medians; x = large/small; min page x = the same with the best run of each)")
    return out


def stock_table(small: dict, large: dict) -> list[str]:
    """Project against stock Flask-Admin, per scope, at both sizes (medians; p90 and best in brackets)."""
    if "stock_median_ms" not in small["levels"]["school"] or "stock_median_ms" not in large["levels"]["school"]:
        return ["(no stock Flask-Admin figures in these results: list_pages ran with --no-stock)"]
    a, b = _label(small["total_pupils"]), _label(large["total_pupils"])
    la = [f"{x['loadavg_start'][0]:.1f}–{x['loadavg_end'][0]:.1f}" for x in (small, large)]
    head = (f"{'scope':<9} | {a + ' project':>16} | {a + ' stock':>16} | {b + ' project':>16} | {b + ' stock':>16} | "
            f"{'stock/project ' + a:>18} | {'stock/project ' + b:>18} | {'project ' + b + '/' + a:>14}")
    out = [f"== project against stock Flask-Admin, page median ms (p90 / best); load average {a} {la[0]}, {b} {la[1]}",
           head, "-" * len(head)]
    for level in LEVELS:
        s, g = small["levels"][level], large["levels"][level]

        def cell(r: dict, k: str) -> str:
            return f"{r[k + '_median_ms']:.1f} ({r[k + '_p90_ms']:.0f}/{r[k + '_min_ms']:.0f})"

        out.append(f"{level:<9} | {cell(s, 'page'):>16} | {cell(s, 'stock'):>16} | {cell(g, 'page'):>16} | "
                   f"{cell(g, 'stock'):>16} | {s['stock_median_ms'] / s['page_median_ms']:>17.2f}x | "
                   f"{g['stock_median_ms'] / g['page_median_ms']:>17.2f}x | {g['page_median_ms'] / s['page_median_ms']:>13.2f}x")
    out.append("statements per page (project / stock): " + "; ".join(
        f"{level} {small['levels'][level]['n_statements']}/{small['levels'][level]['stock_n_statements']} at {a}, "
        f"{large['levels'][level]['n_statements']}/{large['levels'][level]['stock_n_statements']} at {b}" for level in LEVELS))
    return out


def stock_markdown(small: dict, large: dict) -> str:
    """The table of bench/README.md (issue 15): scope x {30k project, 30k stock, 3M project, 3M stock,
    stock/project, 3M/30k}, medians in ms, with the run's load averages."""
    a, b = _label(small["total_pupils"]), _label(large["total_pupils"])
    la = ", ".join(f"{_label(x['total_pupils'])} {x['loadavg_start'][0]:.1f}–{x['loadavg_end'][0]:.1f}" for x in (small, large))
    out = [f"Load average during the timings (1 min, start–end): {la}. Medians of {large['runs']} runs, ms.", "",
           f"| scope | {a} project | {a} stock | {b} project | {b} stock | stock ÷ project {a} | stock ÷ project {b} "
           f"| project {b} ÷ {a} |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for level in LEVELS:
        s, g = small["levels"][level], large["levels"][level]
        out.append(f"| {level} | {s['page_median_ms']:.1f} | {s['stock_median_ms']:.1f} | {g['page_median_ms']:.1f} | "
                   f"{g['stock_median_ms']:.1f} | {s['stock_median_ms'] / s['page_median_ms']:.2f}× | "
                   f"{g['stock_median_ms'] / g['page_median_ms']:.2f}× | {g['page_median_ms'] / s['page_median_ms']:.2f}× |")
    if all("page_cpu_median_ms" in x["levels"][level] for x in (small, large) for level in LEVELS):
        # CPU time of the bench's own thread per request (Flask, SQLAlchemy, Jinja; not PostgreSQL's):
        # on a shared machine it moves far less with the load than the wall time does.
        out += ["", "CPU time of the request in the bench process (thread time), medians, ms:", "",
                f"| scope | {a} project | {a} stock | {b} project | {b} stock | stock ÷ project {a} | stock ÷ project {b} |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for level in LEVELS:
            s, g = small["levels"][level], large["levels"][level]
            out.append(f"| {level} | {s['page_cpu_median_ms']:.1f} | {s['stock_cpu_median_ms']:.1f} | "
                       f"{g['page_cpu_median_ms']:.1f} | {g['stock_cpu_median_ms']:.1f} | "
                       f"{s['stock_cpu_median_ms'] / s['page_cpu_median_ms']:.2f}× | "
                       f"{g['stock_cpu_median_ms'] / g['page_cpu_median_ms']:.2f}× |")
    return "\n".join(out)


def stock_verdict(small: dict, large: dict) -> tuple[list[str], dict[str, bool]]:
    if "stock_median_ms" not in small["levels"]["school"] or "stock_median_ms" not in large["levels"]["school"]:
        return [], {}
    out = [f"4. project at least {MIN_STOCK_OVER_PROJECT:g}x faster than stock Flask-Admin at every scope (median, both sizes)"]
    ok4 = True
    for res in (small, large):
        for level in LEVELS:
            r = res["levels"][level]
            x = r["stock_median_ms"] / r["page_median_ms"]
            ok4 &= x >= MIN_STOCK_OVER_PROJECT
            out.append(f"   {_label(res['total_pupils']):>4} {level:<8} stock {r['stock_median_ms']:7.2f} ms / project "
                       f"{r['page_median_ms']:6.2f} ms = {x:5.2f}x  {'PASS' if x >= MIN_STOCK_OVER_PROJECT else 'FAIL'}")
    out.append(f"5. every scope's project page at the large size <= {MAX_GROWTH_EVERY_SCOPE:g}x the small size (median)")
    ok5 = True
    for level in LEVELS:
        s, g = small["levels"][level], large["levels"][level]
        x = g["page_median_ms"] / s["page_median_ms"]
        ok5 &= x <= MAX_GROWTH_EVERY_SCOPE
        out.append(f"   {level:<8} {s['page_median_ms']:6.2f} -> {g['page_median_ms']:6.2f} ms = {x:4.2f}x  "
                   f"{'PASS' if x <= MAX_GROWTH_EVERY_SCOPE else 'FAIL'}  (best runs {_min_ratio(s, g):.2f}x)")
    return out, {f"4. project >= {MIN_STOCK_OVER_PROJECT:g}x faster than stock": ok4,
                 f"5. every scope's growth <= {MAX_GROWTH_EVERY_SCOPE:g}x": ok5}


def _min_ratio(s: dict, g: dict) -> float:
    if "page_min_ms" not in s or "page_min_ms" not in g:
        return float("nan")
    return g["page_min_ms"] / s["page_min_ms"]


def verdict(pairs: list[tuple[str, dict, dict]]) -> tuple[list[str], dict[str, bool]]:
    out = ["################ verdict"]
    met: dict[str, bool] = {}

    # 1. growth of the counted pages
    out.append(f"1. school and county pages: large size <= {MAX_GROWTH}x small size (page median, same id order)")
    ok1 = True
    for order, small, large in pairs:
        a, b = _label(small["total_pupils"]), _label(large["total_pupils"])
        for level in GROWTH_LEVELS:
            s, g = small["levels"][level], large["levels"][level]
            x = g["page_median_ms"] / s["page_median_ms"]
            rx = g["raw_median_ms"] / s["raw_median_ms"]
            ok = x <= MAX_GROWTH
            ok1 &= ok
            out.append(f"   {order:<11} {level:<7} page {a} {s['page_median_ms']:6.2f} ms -> {b} {g['page_median_ms']:6.2f} ms "
                       f"= {x:4.2f}x  {'PASS' if ok else 'FAIL'}   (best runs {_min_ratio(s, g):.2f}x; raw SQL "
                       f"{s['raw_median_ms']:.2f} -> {g['raw_median_ms']:.2f} ms = {rx:.1f}x)")
    met["1. school/county page growth <= 1.5x"] = ok1

    # 2. page against its raw SQL
    out.append(f"2. every page <= {MAX_PAGE_OVER_RAW:g}x its raw SQL (page median / raw SQL median); 'rest' = page - time "
               "the page spent in SQL (Flask, Jinja, WTForms)")
    ok2 = True
    n_ok = n_all = 0
    rests = []
    for order, small, large in pairs:
        for res in (small, large):
            for level in LEVELS:
                r = res["levels"][level]
                x = r["page_median_ms"] / r["raw_median_ms"]
                rest = r["page_median_ms"] - r.get("page_sql_median_ms", float("nan"))
                rests.append(rest)
                ok = x <= MAX_PAGE_OVER_RAW
                ok2 &= ok
                n_ok += ok
                n_all += 1
                out.append(f"   {order:<11} {_label(res['total_pupils']):>4} {level:<8} page {r['page_median_ms']:6.2f} ms, "
                           f"raw SQL {r['raw_median_ms']:6.2f} ms = {x:5.1f}x  {'PASS' if ok else 'FAIL'}   "
                           f"(page SQL {r.get('page_sql_median_ms', float('nan')):5.2f} ms, rest {rest:5.2f} ms)")
    floor = min(rests)
    out.append(f"   {n_ok} of {n_all} pages within {MAX_PAGE_OVER_RAW:g}x. The non-SQL part of a page (rest) is at least "
               f"{floor:.1f} ms (median {statistics.median(rests):.1f} ms), so a page whose raw SQL takes less than "
               f"{floor / (MAX_PAGE_OVER_RAW - 1):.1f} ms is above {MAX_PAGE_OVER_RAW:g}x whatever the query plan.")
    met["2. page <= 3x raw SQL"] = ok2

    # 3. no COUNT for the province
    counts = [(order, _label(res["total_pupils"]), province_student_counts(res))
              for order, small, large in pairs for res in (small, large)]
    ok3 = all(n == 0 for *_, n in counts)
    out.append("3. province list runs no COUNT: " + ", ".join(f"{o} {size}: {n}" for o, size, n in counts)
               + f"  {'PASS' if ok3 else 'FAIL'}")
    met["3. province page runs no COUNT"] = ok3

    # Access paths (not a target in itself: what targets 1-2 rest on).
    out.append("plans: list query reads student via (expected: " + ", ".join(f"{k} {v}" for k, v in EXPECTED_INDEX.items()) + ")")
    for order, small, large in pairs:
        for res in (small, large):
            cells = []
            for level in LEVELS:
                r = res["levels"][level]
                ok = r.get("list_access_ok")
                cond = r.get("list_cond") or ""
                how = " (bitmap)" if cond.endswith("(bitmap)") else " + Filter" if cond.startswith("Filter") else ""
                cells.append(f"{level} {r.get('list_index')}{how}" + ("" if ok else " (NOT the expected index)"))
            out.append(f"   {order:<11} {_label(res['total_pupils']):>4}: " + "; ".join(cells))

    lines, stock_met = stock_verdict(pairs[0][1], pairs[0][2])
    out.extend(lines)
    met.update(stock_met)
    out.append("")
    for name, ok in met.items():
        out.append(f"VERDICT {name}: {'MET' if ok else 'NOT MET'}")
    return out, met


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("small")
    ap.add_argument("large")
    ap.add_argument("--gen", nargs=2, metavar=("SMALL_GEN", "LARGE_GEN"))
    ap.add_argument("--by-school", nargs=2, metavar=("SMALL", "LARGE"), help="list_pages results, ids by school")
    ap.add_argument("--gen-by-school", nargs=2, metavar=("SMALL_GEN", "LARGE_GEN"))
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")
    ap.add_argument("--markdown", action="store_true", help="print only the project-against-stock table, in Markdown")
    args = ap.parse_args(argv)
    if args.markdown:
        print(stock_markdown(_load(args.small), _load(args.large)))
        return 0

    pairs = [("interleaved", _load(args.small), _load(args.large))]
    if args.by_school:
        pairs.append(("by-school", _load(args.by_school[0]), _load(args.by_school[1])))

    gens = [("interleaved", p) for p in args.gen or ()] + [("by-school", p) for p in args.gen_by_school or ()]
    if gens:
        print("== generation timings (s)")
        for order, path in gens:
            g = _load(path)
            phases = ", ".join(f"{k} {v:.1f}" for k, v in g["timings_s"].items())
            print(f"  {_label(g['pupils'])} {g.get('id_order', order)}: total {g['total_s']:.1f} — {phases}")
        print()
    for order, small, large in pairs:
        print(f"################ id order: {order}")
        for res in (small, large):
            print(f"== {_label(res['total_pupils'])} ({order})")
            print(table(res))
            print()
        print("\n".join(ratio_table(small, large)))
        print()
        print("\n".join(stock_table(small, large)))
        print()
    lines, met = verdict(pairs)
    print("\n".join(lines))
    return 1 if args.strict and not all(met.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
