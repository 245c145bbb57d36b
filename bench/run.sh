#!/usr/bin/env bash
# Student-list benchmark: 30k pupils, then 3M pupils, same tree and users, first with ids
# interleaved over the schools (as in a live system), then with ids grouped school by school
# (a bulk import); each page is timed beside stock Flask-Admin (bench/stock_admin.py) in the same
# run; prints the tables, the 3M/30k ratios and the verdict against the targets (bench/README.md).
# `make bench` runs this. Needs PostgreSQL (see BENCH_URL).
#   BENCH_URL    default postgresql+psycopg://root@127.0.0.1/xueji_bench: the base name; each size
#                has its own database, NAME_small, NAME_large, NAME_small_bysch, NAME_large_bysch
#                (dropped and recreated when generated!)
#   BENCH_ORDERS      "interleaved by-school" (default) or "interleaved" (the interleaved pair only)
#   BENCH_GENERATE    1 (default): generate each database; 0: time the databases already there
#   BENCH_SMALL / BENCH_LARGE   pupils (default 30000 / 3000000);  BENCH_RUNS (default 15)
#   BENCH_WAIT_QUIET  wait up to this many s for load average < CPUs/2 before timing (default 180)
#   BENCH_PAIRED_RUNS runs of bench/paired.py (default 40; 0: skip it): the interleaved 30k and 3M
#                databases and stock beside each, timed turn by turn in one process (targets 4 and 5)
# Results (JSON and logs) go to bench/results/: *-small, *-large (interleaved), *-small-bysch,
# *-large-bysch (by school), summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

URL="${BENCH_URL:-postgresql+psycopg://root@127.0.0.1/xueji_bench}"
SMALL="${BENCH_SMALL:-30000}"
LARGE="${BENCH_LARGE:-3000000}"
RUNS="${BENCH_RUNS:-15}"
WAIT="${BENCH_WAIT_QUIET:-180}"
ORDERS="${BENCH_ORDERS:-interleaved by-school}"
GENERATE="${BENCH_GENERATE:-1}"  # s to wait for a quiet machine before each timing (0: do not wait)
PY="${BENCH_PYTHON:-.venv/bin/python}"
OUT=bench/results
mkdir -p "$OUT"

case "${URL##*/}" in
  test|test\?*) echo "bench/run.sh: refusing to use the database 'test'" >&2; exit 2 ;;
  *bench*) ;;
  *) echo "bench/run.sh: BENCH_URL's database name must contain 'bench' (it is dropped)" >&2; exit 2 ;;
esac

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1; then
  if [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null; then
    echo "PostgreSQL is down; starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  fi
fi

run_size() {  # $1 pupils, $2 label, $3 id order
  local url="${URL}_${2//-/_}"
  if [ "$GENERATE" != 0 ]; then
    echo "######## $2: generating $1 pupils, id order $3"
    "$PY" -m bench.generate --url "$url" --pupils "$1" --reset --id-order "$3" --json "$OUT/generate-$2.json" 2>&1 \
      | grep --line-buffered -v '^INFO  \[alembic' | tee "$OUT/generate-$2.log"
  fi
  echo "######## $2: list pages (project and stock Flask-Admin)"
  "$PY" -m bench.list_pages --url "$url" --runs "$RUNS" --wait-quiet "$WAIT" --json "$OUT/list-$2.json" | tee "$OUT/list-$2.log"
}

args=()
for order in $ORDERS; do
  case "$order" in
    interleaved)
      run_size "$SMALL" small interleaved
      run_size "$LARGE" large interleaved
      args+=("$OUT/list-small.json" "$OUT/list-large.json")
      [ -f "$OUT/generate-large.json" ] && args+=(--gen "$OUT/generate-small.json" "$OUT/generate-large.json") ;;
    by-school)
      run_size "$SMALL" small-bysch by-school
      run_size "$LARGE" large-bysch by-school
      args+=(--by-school "$OUT/list-small-bysch.json" "$OUT/list-large-bysch.json")
      [ -f "$OUT/generate-large-bysch.json" ] && args+=(--gen-by-school "$OUT/generate-small-bysch.json" "$OUT/generate-large-bysch.json") ;;
    *) echo "bench/run.sh: unknown id order '$order' in BENCH_ORDERS" >&2; exit 2 ;;
  esac
done

echo
echo "################ summary"
"$PY" -m bench.compare "${args[@]}" | tee "$OUT/summary.txt"

PAIRED_RUNS="${BENCH_PAIRED_RUNS:-40}"
if [[ " $ORDERS " == *" interleaved "* ]] && [ "$PAIRED_RUNS" != 0 ]; then
  echo
  echo "################ paired: 30k and 3M, project and stock, turn by turn (targets 4 and 5)"
  "$PY" -m bench.paired --small "${URL}_small" --large "${URL}_large" --runs "$PAIRED_RUNS" --wait-quiet "$WAIT" \
    --json "$OUT/paired.json" | grep --line-buffered -v '^{' | tee "$OUT/paired.txt"
fi
