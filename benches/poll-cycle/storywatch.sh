#!/usr/bin/env bash
# storywatch poll cycles against benches/poll-cycle/serve.py on 127.0.0.1, each timed with
# /usr/bin/time -v and recorded by record.py exactly as peers/*.sh record feed2exec and rss2email,
# so that all three land in one results.jsonl.  Normally run by benches/poll-cycle.sh.
#
# usage: benches/poll-cycle/storywatch.sh -w WORKLOAD [-b BIN] [-l LATENCY_MS] [-r RESULTS.jsonl]
#                                         [-o OUTROOT] [-t CYCLE_TIMEOUT] [-H HISTORY_ITEMS]
#
# Cycles, one state dir and one server on one port (as the peers), each `storywatch poll --json`:
#   noop          the story and the sink but zero feeds, own empty state dir: start-up, config,
#                 schema and story = the fixed cost of a cycle
#   cold          empty store, server sends ETag/Last-Modified: every entry is new
#   warm304       same content; conditional requests get 304s
#   warm200       same content; server switched to "no validators, always 200"
#   cold_history  only with -H: a second store filled (untimed) with HISTORY_ITEMS items over the
#                 last 90 days by examples/fill_store, validators back on, one cold poll (run once,
#                 no retry): what a store that has run for months does to a cold poll
#
#   WORKLOAD  folder written by workload.py (manifest.json, feeds.txt, feeds/)
#   BIN       the storywatch binary (default $STORYWATCH_BIN)
#   OUTROOT   where the state dir goes (default: lib.sh's default_outroot, tmpfs when there is one)
# The story is the repository's config/demo/stories/ceasefire-talks.txt, the article workload.py
# takes its on-story names from.
# env: STORYWATCH_FILL_BIN  the store filler for -H (default BIN's folder/examples/fill_store)
#      STORYWATCH_CACHE     [storage] cache for the timed configs (default: storywatch's own)
#      and lib.sh's CYCLE_TIMEOUT, QUIET_MAX_CORES, QUIET_WAIT_MAX, RETRY_OTHER_LOAD, MAX_ATTEMPTS
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"

WL="" LAT=0 BIN="${STORYWATCH_BIN:-}" HIST="" RESULTS=/tmp/storywatch-bench/results.jsonl
OUTROOT="$(default_outroot)"
while getopts "w:b:l:r:o:t:H:h" opt; do
  case "$opt" in
    w) WL="$(realpath "$OPTARG")" ;; b) BIN="$OPTARG" ;; l) LAT="$OPTARG" ;; r) RESULTS="$OPTARG" ;;
    o) OUTROOT="$OPTARG" ;; t) CYCLE_TIMEOUT="$OPTARG" ;; H) HIST="$OPTARG" ;;
    *) sed -n '2,25p' "$0"; exit 2 ;;
  esac
done
[[ -f "$WL/manifest.json" ]] || die "-w WORKLOAD (a workload.py folder) is required"
[[ -n "$BIN" && -x "$BIN" ]] || die "storywatch binary not found: give -b BIN or set STORYWATCH_BIN"
BIN="$(realpath "$BIN")"   # cycles run from the state dir
ARTICLE="$(realpath -e "$HERE/../../config/demo/stories/ceasefire-talks.txt" 2>/dev/null)" \
  || die "the story's reference article is missing: config/demo/stories/ceasefire-talks.txt"
[[ "$ARTICLE" != *[\"\\]* ]] || die "cannot quote $ARTICLE in TOML"
if [[ -n "$HIST" ]]; then
  [[ "$HIST" =~ ^[1-9][0-9]*$ ]] || die "-H wants a positive number of items"
  # checked now rather than after the other cycles: it is the last step
  FILL_BIN="${STORYWATCH_FILL_BIN:-$(dirname "$BIN")/examples/fill_store}"
  [[ -x "$FILL_BIN" ]] || die "-H needs the store filler, not found at $FILL_BIN: build it with" \
    "\`cargo build --release --locked --example fill_store\` or set STORYWATCH_FILL_BIN"
fi
mkdir -p "$(dirname "$RESULTS")" "$OUTROOT"
read -r N M TOTAL < <(manifest_counts "$WL")
DBFILES=(storywatch.db storywatch.db-wal storywatch.db-shm)

# write_config DIR WITH_FEEDS : DIR/storywatch.toml, its store in DIR; WITH_FEEDS=0 for noop
CACHE_LINE=""
[[ -z "${STORYWATCH_CACHE:-}" ]] || CACHE_LINE="cache = \"$STORYWATCH_CACHE\"   # STORYWATCH_CACHE"
write_config() {
  local d="$1" with_feeds="$2" path name
  mkdir -p "$d"
  {
    cat <<EOF
# Written by benches/poll-cycle/storywatch.sh for one benchmark run.
# Only what the benchmark needs is set; everything else is storywatch's default, as a user
# would run it. Matching against the story and near-duplicate detection are on by default,
# so every timed cycle pays for them (the peers do neither).

[storage]
# Relative to this file: the store sits in the run's state dir, on the peers' filesystem.
path = "storywatch.db"
$CACHE_LINE

[poll]
interval = "15m"

[alerts]
max_age = "36500d"      # the workload is dated 2025; alert on it anyway

# The story whose names workload.py put into its on-story items and near misses.
[[story]]
id = "ceasefire-talks"
article = "$ARTICLE"

# One JSON line per alert on stdout: delivery stays in-process and the runner counts the lines,
# as feed2exec's echo output is counted.
[[sink]]
name = "bench-out"
kind = "stdout"
EOF
    if (( with_feeds )); then
      printf '\n%s\n' "# The workload's feeds.txt, served by benches/poll-cycle/serve.py."
      while IFS= read -r path; do
        [[ -n "$path" ]] || continue
        name="${path##*/}"
        printf '\n[[feed]]\nname = "feed-%s"\nurl = "http://127.0.0.1:%s/%s"\n' "${name%%.*}" "$SRV_PORT" "$path"
      done <"$WL/feeds.txt"
    fi
  } >"$d/storywatch.toml"
  "$BIN" --config "$d/storywatch.toml" check-config >"$d/check-config.txt" 2>&1 \
    || { cat "$d/check-config.txt" >&2; die "storywatch rejects the generated $d/storywatch.toml"; }
}

# item_count DB : rows in the store's items table; 0 before the store exists (and it is not created)
item_count() {
  "$PY" -c 'import os, sqlite3, sys
p = sys.argv[1]
if not os.path.exists(p):
    print(0)
    sys.exit()
db = sqlite3.connect(p, timeout=60)
print(db.execute("SELECT count(*) FROM items").fetchone()[0])
db.close()' "$1"
}

# state_bytes DIR : the store on disk after a cycle (database + write-ahead log)
state_bytes() {
  local total=0 f
  for f in storywatch.db storywatch.db-wal; do
    if [[ -f "$1/$f" ]]; then total=$((total + $(stat -c %s "$1/$f"))); fi
  done
  echo "$total"
}

# summary_fields STDOUT : key=value words for record.py from the alert lines and the summary line
summary_fields() {
  "$PY" -c 'import json, sys
alerts, summary = 0, None
for line in open(sys.argv[1], errors="replace"):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if not isinstance(j, dict):
        continue
    if j.get("type") == "storywatch.alert.v1":
        alerts += 1
    elif "feeds" in j and "items_new" in j:
        summary = j
words = [f"new_reported={alerts}"]
if summary is None:
    words.append("sw_summary=missing")
else:
    for key, field in (("sw_items_new", "items_new"), ("sw_duplicate", "items_duplicate"),
                       ("sw_near_duplicate", "items_near_duplicate"), ("sw_matches", "matches"),
                       ("sw_alerts", "alerts"), ("sw_failed", "failed"), ("sw_not_modified", "not_modified"), ("sw_unchanged", "unchanged")):
        if isinstance(summary.get(field), int):
            words.append(f"{key}={summary[field]}")
print(" ".join(words))' "$1"
}

# run_cycle DIR CYCLE ATTEMPT EXPECTED_NEW [KEY=VALUE...] : one timed poll of DIR's config, recorded;
# exits non-zero when storywatch failed or a feed failed (the figures would not mean anything)
run_cycle() {
  local dir="$1" cy="$2" attempt="$3" exp="$4"; shift 4
  local cd="$WD/$cy.$attempt" before after bytes rc kv failed=missing sw
  wait_quiet
  srv_stats "$WD/server/pre-$cy.$attempt.json"        # zero the counters
  before=$(item_count "$dir/storywatch.db")
  # `|| true`: timed_cycle keeps the exit code in $cd/rc; set -e must not end the run before it
  (cd "$dir" && timed_cycle "$cd" "$BIN" --log-level warn --config "$dir/storywatch.toml" poll --json) || true
  srv_stats "$cd/stats.json"
  bytes=$(state_bytes "$dir")                         # before our own connection touches the WAL
  after=$(item_count "$dir/storywatch.db")
  read -r -a sw < <(summary_fields "$cd/stdout")
  record "$RESULTS" "$cd" "$cd/stats.json" "${COMMON[@]}" "cycle=$cy" "attempt=$attempt" \
    "expected_new=$exp" "new_state=$((after - before))" "${sw[@]}" \
    "stderr_lines=$(wc -l <"$cd/stderr")" "state_bytes=$bytes" "$@"
  rc=$(cat "$cd/rc" 2>/dev/null || echo missing)
  for kv in "${sw[@]}"; do
    case "$kv" in sw_failed=*) failed="${kv#*=}" ;; esac
  done
  if [[ "$rc" != 0 || "$failed" != 0 ]]; then
    [[ "$failed" != missing ]] || failed="unknown (no summary line)"
    echo "error: storywatch $cy: exit code $rc, failed feeds $failed; last lines of $cd/stderr:" >&2
    tail -n 20 "$cd/stderr" >&2 || true
    exit 1
  fi
}

WD="$OUTROOT/storywatch-poll-n$N-lat$LAT-$(date +%Y%m%d-%H%M%S)"
rm -rf "$WD"; mkdir -p "$WD"
trap 'stop_server' EXIT
trap 'stop_server; exit 130' INT TERM
peer_env "$WD/home"          # same isolation as the peers: own HOME/XDG dirs, no proxies
start_server "$WL" "$WD/server" "$LAT"
write_config "$WD/noop" 0
write_config "$WD" 1

COMMON=(peer=storywatch variant=poll "n_feeds=$N" "m_items=$M" "latency_ms=$LAT" "state_dir=$WD")
echo "$("$BIN" --version) ($BIN) N=$N M=$M latency=${LAT}ms state=$WD"

for CY in noop cold warm304 warm200; do
  case $CY in
    noop)    dir="$WD/noop" exp=0 ;;
    cold)    dir="$WD" exp=$TOTAL ;;
    warm304) dir="$WD" exp=0 ;;
    warm200) dir="$WD" exp=0; srv_mode 0 >"$WD/server/mode-warm200.txt" ;;
  esac
  save_state "$WD/snap" "$dir" "${DBFILES[@]}"     # the store before the cycle, for a retry
  attempt=1
  while :; do
    run_cycle "$dir" "$CY" "$attempt" "$exp"
    needs_retry "$WD/$CY.$attempt" "$attempt" || break
    echo "  (other processes were busy during $CY; restoring state and retrying)"
    restore_state "$WD/snap" "$dir" "${DBFILES[@]}"
    attempt=$((attempt + 1))
  done
done

if [[ -n "$HIST" ]]; then
  HD="$WD/history"
  write_config "$HD" 1
  echo "  filling $HD/storywatch.db with $HIST items (untimed)"
  "$FILL_BIN" --db "$HD/storywatch.db" --items "$HIST" >"$HD/fill.log" 2>&1 \
    || { tail -n 20 "$HD/fill.log" >&2; die "$FILL_BIN failed"; }
  srv_mode 1 >"$WD/server/mode-cold_history.txt"
  run_cycle "$HD" cold_history 1 "$TOTAL" "history_items=$HIST"
fi
stop_server
