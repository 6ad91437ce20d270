#!/usr/bin/env bash
# Drop -> committed latency of a 50-listing file on top of N stored listings
# (issue #12's benchmark), with the run's stage times and the service's peak RSS.
#
#   cargo build --release && bash scripts/measure-drop-to-commit.sh 100000 [DROPS]
#   EVENT_DEDUP_BIN=/path/to/other/build bash scripts/measure-drop-to-commit.sh 10000
#
# Starts `event-dedup run` on a fresh embedded PostgreSQL in a temporary directory,
# loads N generated listings (`event-dedup generate`), waits until they are ingested
# and matched, then DROPS times (default 12): renames one 50-listing file (ids of its
# own, from the labelled fixtures) into place and waits for the next `run_completed`
# record. Prints one line per drop, then p50/p95 of drop -> committed, the median
# of each stage of the runs (load, prepare, score, cluster, synthesize, persist, from
# `matching_complete`) and the service's peak RSS (VmHWM). Then restarts the
# service: how long rebuilding the state from the stored listings takes, the first
# drop after it, and the restarted service's peak RSS (the start-up state build).
# Stops the service.
set -euo pipefail
N=${1:-10000}
DROPS=${2:-12}
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

python3 - "$ROOT/tests/fixtures/dev/events" "$PID" "$DROPS" <<'PY'
import glob, json, os, statistics, sys, time

fixtures, pid, drops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

# A record inside a span is logged as "[SPAN - EVENT] msg" (bunyan formatter).
def records(msg):
    out = []
    with open("service.log") as f:
        for line in f:
            if f'{msg}"' in line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out

def last(*parts):
    """Line number of the last record whose line holds every part (-1 if none)."""
    with open("service.log") as f:
        return max((i for i, line in enumerate(f) if all(p in line for p in parts)), default=-1)

def count(msg):
    with open("service.log") as f:
        return sum(1 for line in f if f'{msg}"' in line)

# The stored catalogue: every generated file, then wait until a run covers the last.
t0 = time.time()
files = sorted(glob.glob("gen/events/*.json"))
for f in files:
    os.link(f, "eventdata/" + os.path.basename(f))
while count("file_processed") < len(files):
    time.sleep(0.2)
t_ingested = time.time()
while True:
    # Quiet: no run for 5 s and the state for the next run built (`run_completed` is
    # logged at the commit, before a full run builds the state; a drop before it would
    # wait for the build and time it too).
    runs = count("run_completed")
    time.sleep(5)
    built_after_full = last('match_state_built"') > last('matching_complete"', '"mode":"full"')
    if count("run_completed") == runs and runs > 0 and built_after_full:
        break
stored = sum(len(json.load(open(f))["events"]) for f in files)
print(f"stored: {stored} listings in {len(files)} files; ingested in {t_ingested - t0:.1f} s, "
      f"matched after {time.time() - t0 - 5:.1f} s with {count('run_completed')} run(s)")

pool = []
for f in sorted(glob.glob(fixtures + "/*.json")):
    pool.extend(json.load(open(f))["events"])
latencies = []
for k in range(drops):
    events = []
    for e in pool[(k * 50) % len(pool):][:50]:
        e = dict(e, id=f"m50-{k}-{e['id']}")
        events.append(e)
    doc = {"events": events, "metadata": {"processedAt": None, "sourceKey": f"m50-{k}"}}
    tmp = f"eventdata/.m50-{k}.tmp"
    with open(tmp, "w") as out:
        json.dump(doc, out)
    runs = count("run_completed")
    d0 = time.time()
    os.rename(tmp, f"eventdata/m50_{k:02d}_22.11.2026_measure.json")
    while count("run_completed") <= runs:
        time.sleep(0.01)
    latencies.append(time.time() - d0)
    done = records("matching_complete")[-1]
    print(f"drop {k + 1:2d}: {latencies[-1] * 1000:7.0f} ms drop -> committed "
          f"({done.get('mode')} run: load {done.get('load_ms', 0):.0f}, prepare {done.get('prepare_ms', 0):.0f}, "
          f"score {done.get('score_ms', 0):.0f}, cluster {done.get('cluster_ms', 0):.0f}, "
          f"synthesize {done.get('synthesis_ms', 0):.0f}, persist {done.get('persist_ms', 0):.0f} ms)")
    time.sleep(0.3)

lat = sorted(latencies)
p = lambda q: lat[min(len(lat) - 1, int(round(q * (len(lat) - 1))))] * 1000
runs = records("matching_complete")[-drops:]
stage = lambda k: statistics.median(r.get(k, 0) for r in runs)
hwm = next((l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM")), "?")
print(f"drop -> committed over {drops} drops: p50 {p(0.5):.0f} ms, p95 {p(0.95):.0f} ms")
print("median run stages (ms): " + ", ".join(
    f"{k[:-3]} {stage(k):.1f}" for k in
    ["load_ms", "prepare_ms", "score_ms", "cluster_ms", "synthesis_ms", "tiebreak_ms", "persist_ms"]))
print(f"service peak RSS: {int(hwm) / 1024:.0f} MiB" if hwm != "?" else "service peak RSS: ?")
PY

# A restart: the state is rebuilt from the stored listings (no run); how long that
# takes, and the first drop after it.
kill -TERM $PID; wait $PID || true
EVENT_DEDUP_HTTP_ADDR=127.0.0.1:0 "$BIN" run > restart.log 2>> service.err &
PID=$!
s0=$(date +%s.%N)
until grep -q 'match_state_built' restart.log; do sleep 0.1; done
s1=$(date +%s.%N)
python3 - <<'PY'
import json
for line in open("restart.log"):
    if "match_state_built" in line:
        d = json.loads(line)
        print(f"restart: state rebuilt from {d['listings']} stored listings in {d['state_build_ms']:.0f} ms (no run)")
PY
echo "restart -> state ready: $(echo "$s1 - $s0" | bc) s"
RUNS=$(grep -c 'run_completed' restart.log || true)
python3 -c "
import json; json.dump({'events': [dict(e, id='r1-' + e['id']) for e in json.load(open('$ROOT/tests/fixtures/dev/events/' + sorted(__import__('os').listdir('$ROOT/tests/fixtures/dev/events'))[0]))['events']][:50], 'metadata': {'processedAt': None, 'sourceKey': 'r1'}}, open('eventdata/.r1.tmp', 'w'))"
d0=$(date +%s.%N)
mv eventdata/.r1.tmp eventdata/r1_22.11.2026_measure.json
until [ "$(grep -c 'run_completed' restart.log || true)" -gt "$RUNS" ]; do sleep 0.02; done
d1=$(date +%s.%N)
echo "first drop after the restart: $(echo "($d1 - $d0) * 1000" | bc | cut -d. -f1) ms drop -> committed ($(grep -o '"mode":"[a-z]*"' restart.log | tail -1))"
echo "restarted service peak RSS: $(awk '/VmHWM/{printf "%.0f", $2 / 1024}' /proc/$PID/status) MiB"
echo "logs: $WORK/service.log $WORK/restart.log"
