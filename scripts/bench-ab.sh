#!/usr/bin/env bash
# A/B benchmark of two or more event-dedup binaries on one generated data set.
#
# Usage: scripts/bench-ab.sh DATA_DIR RUNS BINARY...
#   DATA_DIR  a data set made by `event-dedup bench` (e.g. target/bench-data/n100000-s1-d1)
#   RUNS      how many times each binary runs; runs alternate between the binaries so
#             machine noise hits all of them alike
# Prints, per binary, best/median milliseconds of each pipeline stage (`bench-run`).
# Compare binaries only within one invocation: figures from another day are not comparable.
set -euo pipefail
data=$1
runs=$2
shift 2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$runs"); do
  n=0
  for bin in "$@"; do
    n=$((n + 1))
    "$bin" bench-run "$data" > "$out/$n.$r.json" 2>/dev/null
  done
done
python3 - "$out" "$runs" "$@" <<'PY'
import json, statistics, sys
out, runs, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
keys = ["preprocess_ms", "blocking_ms", "scoring_ms", "clustering_ms", "synthesis_ms", "pipeline_ms"]
for n, b in enumerate(bins, 1):
    rows = [json.load(open(f"{out}/{n}.{r}.json")) for r in range(1, runs + 1)]
    stages = " ".join(
        f"{k[:-3]}={min(x[k] for x in rows):.0f}/{statistics.median(x[k] for x in rows):.0f}"
        for k in keys
    )
    print(f"{b} {stages} pairs/event={rows[0].get('pairs_per_event', 0):.3f} "
          f"peak_mib={max(x['peak_rss_mib'] for x in rows):.0f}")
PY
