#!/usr/bin/env bash
# Measures the time from dropping a 50-event file into the watched directory to its
# matching run being committed, on top of N stored events (default 10000).
#
#   cargo build --release && bash scripts/measure-drop-to-commit.sh 100000
#   EVENT_DEDUP_BIN=/path/to/other/build bash scripts/measure-drop-to-commit.sh 10000
#
# Starts `event-dedup run` on a fresh embedded PostgreSQL in a temporary directory,
# loads N generated events (`event-dedup generate`), waits until they are ingested and
# matched, then renames one 50-event file into place and waits for the next
# `run_completed` log record. Prints the figures and stops the service.
set -euo pipefail
N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${EVENT_DEDUP_BIN:-"$ROOT/target/release/event-dedup"}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
WORK=$(mktemp -d /tmp/event-dedup-measure.XXXXXX)
cd "$WORK"
cp -r "$ROOT/config" .
"$BIN" generate --events "$N" --seed 1 --out gen --compact 2>/dev/null
mkdir eventdata
EVENT_DEDUP_HTTP_ADDR=127.0.0.1:0 "$BIN" run > service.log 2> service.err &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
until grep -q '"msg":"startup_scan_complete"' service.log; do sleep 0.2; done

t0=$(date +%s.%N)
cp gen/events/*.json eventdata/
FILES=$(ls eventdata | wc -l)
until [ "$(grep -c '"msg":"file_processed"' service.log)" -ge "$FILES" ]; do sleep 0.5; done
t1=$(date +%s.%N)
sleep 3 # let a trailing run finish
RUNS=$(grep -c '"msg":"run_completed"' service.log)

# 50 events with ids of their own, taken from the labelled fixtures.
python3 - "$ROOT/tests/fixtures/dev/events" > drop.json <<'PY'
import glob, json, sys
events = []
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    for e in json.load(open(f))["events"]:
        e["id"] = "m50-" + e["id"]
        events.append(e)
print(json.dumps({"events": events[:50], "metadata": {"processedAt": None, "sourceKey": "m50"}}))
PY
cp drop.json eventdata/.m50.tmp
d0=$(date +%s.%N)
mv eventdata/.m50.tmp eventdata/m50_22.11.2026_measure.json
until [ "$(grep -c '"msg":"run_completed"' service.log)" -gt "$RUNS" ]; do sleep 0.05; done
d1=$(date +%s.%N)

echo "stored events: $N in $FILES files, ingested and matched in $(echo "$t1 - $t0" | bc) s with $RUNS run(s)"
echo "50-event file: drop -> run committed in $(echo "$d1 - $d0" | bc) s"
grep '"msg":"run_completed"' service.log | tail -1 | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print({k: d.get(k) for k in ['total_events','candidate_pairs','duration_ms','canonicals_created','canonicals_updated','canonicals_unchanged']})"
echo "logs: $WORK/service.log"
