#!/usr/bin/env bash
# Measures a burst into an empty service: N generated listings (default 100000, about
# 5,000 files) renamed into the watched directory at once. Reports listings/s for the
# ingest alone (the last file committed) and end to end (the first run committed that
# covers every file), the number of matching runs, and the ingest batches.
#
#   CARGO_TARGET_DIR=target-rel cargo build --release --locked
#   EVENT_DEDUP_BIN=target-rel/release/event-dedup bash scripts/measure-burst.sh 100000
#   REPEAT=3 bash scripts/measure-burst.sh            # three bursts, one line each
#   MODE=copy bash scripts/measure-burst.sh           # cp instead of rename (files settle)
#   EVENT_DEDUP_DATABASE_URL=postgres://… bash scripts/measure-burst.sh   # an EMPTY database
#
# Each repeat starts `event-dedup run` in a fresh temporary directory (with its own
# embedded PostgreSQL unless EVENT_DEDUP_DATABASE_URL names one; that database must be
# empty, and a repeat > 1 then needs a fresh one each time). The files are generated
# once (`event-dedup generate --compact`), staged on the same file system, and moved
# into the watched directory by one `mv` (the producer protocol: a rename is complete
# at once). Times come from the service's own log records (bunyan `time`), so polling
# does not blur them.
set -euo pipefail
N=${1:-100000}
REPEAT=${REPEAT:-1}
MODE=${MODE:-rename}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${EVENT_DEDUP_BIN:-"$ROOT/target/release/event-dedup"}
[ -x "$BIN" ] || { echo "build first: cargo build --release (or set EVENT_DEDUP_BIN)" >&2; exit 1; }
case "$MODE" in rename | copy) ;; *) echo "MODE must be rename or copy" >&2; exit 2 ;; esac
if [ -n "${EVENT_DEDUP_DATABASE_URL:-}" ] && [ "$REPEAT" -gt 1 ]; then
    echo "REPEAT > 1 needs a fresh empty database per repeat: use the embedded one" >&2
    exit 2
fi

GEN=$(mktemp -d /tmp/event-dedup-burst-gen.XXXXXX)
"$BIN" generate --events "$N" --seed 1 --out "$GEN/gen" --compact >/dev/null 2>&1
FILES=$(find "$GEN/gen/events" -name '*.json' | wc -l)
echo "data: $N listings in $FILES files ($(du -sh "$GEN/gen/events" | cut -f1)), mode $MODE, binary $BIN"

PID=
cleanup() {
    if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

for i in $(seq 1 "$REPEAT"); do
    WORK=$(mktemp -d /tmp/event-dedup-burst.XXXXXX)
    cd "$WORK"
    cp -r "$ROOT/config" .
    mkdir eventdata stage
    cp "$GEN"/gen/events/*.json stage/
    EVENT_DEDUP_HTTP_ADDR=127.0.0.1:0 "$BIN" run >service.log 2>service.err &
    PID=$!
    until grep -q '"msg":"startup_scan_complete"' service.log; do
        kill -0 "$PID" 2>/dev/null || { echo "service exited, see $WORK/service.err" >&2; exit 1; }
        sleep 0.2
    done
    sync
    T0=$(date -u +%s.%N)
    if [ "$MODE" = rename ]; then
        find stage -name '*.json' -exec mv -t eventdata/ {} +
    else
        find stage -name '*.json' -exec cp -t eventdata/ {} +
    fi
    # Done when a run covering every file committed (generations count files).
    until python3 - "$FILES" service.log <<'PY'
import json, sys
files = int(sys.argv[1])
for line in open(sys.argv[2]):
    if '"run_completed"' in line and json.loads(line).get("covers_generation", 0) >= files:
        sys.exit(0)
sys.exit(1)
PY
    do
        kill -0 "$PID" 2>/dev/null || { echo "service exited, see $WORK/service.err" >&2; exit 1; }
        sleep 0.2
    done
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
    python3 - "$T0" "$FILES" "$N" "$i" service.log <<'PY'
import json, sys
from datetime import datetime
t0, files, n, rep, log = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def ts(r):
    return datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
ingested, runs, batches, end, listings = [], [], 0, None, 0
for line in open(log):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    msg = r.get("msg", "").split("] ")[-1]  # "[SPAN - EVENT] name" inside a span
    if msg == "file_ingested":
        ingested.append(ts(r))
        listings += r.get("events_ingested", 0)
    elif msg == "ingest_batch_committed":
        batches += 1
    elif msg in ("run_completed", "run_failed"):
        runs.append((ts(r), msg, r.get("covers_generation", 0), r.get("duration_ms")))
        if end is None and msg == "run_completed" and r.get("covers_generation", 0) >= files:
            end = ts(r)
if len(ingested) != files or end is None:
    sys.exit(f"incomplete: {len(ingested)} of {files} files ingested, end {end}")
ingest_s, e2e_s = max(ingested) - t0, end - t0
print(
    f"run {rep}: ingest {ingest_s:.2f} s = {listings / ingest_s:,.0f} listings/s; "
    f"end to end {e2e_s:.2f} s = {listings / e2e_s:,.0f} listings/s; "
    f"{len(runs)} run(s) [" + ", ".join(f"{t - t0:.1f}s:{m[4:]}:gen {g}:{d} ms" for t, m, g, d in runs) + "]"
    + (f"; {batches} ingest batches" if batches else "")
)
PY
    # Keep the log, not the database and the copies (about 1 GB per 100k listings).
    rm -rf "$WORK/.event-dedup" "$WORK/eventdata" "$WORK/stage"
    echo "  logs: $WORK/service.log"
done
rm -rf "$GEN"
