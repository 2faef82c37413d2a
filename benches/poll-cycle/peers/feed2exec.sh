#!/usr/bin/env bash
# Debian's feed2exec through the poll cycles of benches/poll-cycle.sh, against serve.py on
# 127.0.0.1, each cycle timed and recorded as benches/poll-cycle/storywatch.sh records storywatch.
#
# usage: benches/poll-cycle/peers/feed2exec.sh -w WORKLOAD [-l LATENCY_MS] [-r RESULTS.jsonl]
#                                              [-o OUTROOT] [-t CYCLE_TIMEOUT]
#
# Cycles, one `feed2exec fetch` process each, one state dir and one server:
#   noop     no feeds configured (own config and database): interpreter, imports and config,
#            the fixed cost of a cycle
#   cold     empty database, validators on: every entry is new
#   warm304  same content; its conditional requests get 304s
#   warm200  same content; validators off, every answer a 200
# Config: the workload's feeds imported from an OPML list (as a user would), every feed's output
# feed2exec.plugins.echo with args {item.id}: one stdout line per new entry, in-process, counted
# as new_reported. new_state: rows added to its feedcache table (its record of entries seen).
#   WORKLOAD  a workload.py folder;  OUTROOT  where the state dir goes (default: tmpfs if any)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$HERE/../lib.sh"

peer_args 17 "$@"
command -v feed2exec >/dev/null || die "feed2exec is not installed (apt-get install feed2exec)"
mkdir -p "$OUTROOT"
read -r N M TOTAL < <(manifest_counts "$WL")

# feedcache_rows DB : entries feed2exec has recorded as seen; 0 before the database exists
feedcache_rows() {
  "$PY" -c 'import os, sqlite3, sys
rows = 0
if os.path.exists(sys.argv[1]):          # connecting would create it
    try:
        rows = sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM feedcache").fetchone()[0]
    except sqlite3.OperationalError:     # no feedcache table yet
        pass
print(rows)' "$1"
}

# write_ini FILE : every feed's output, given once in [DEFAULT]; `import` adds the feeds
write_ini() { printf '[DEFAULT]\noutput = feed2exec.plugins.echo\nargs = {item.id}\n\n' >"$1"; }

WD="$OUTROOT/feed2exec-n$N-lat$LAT-$(date +%Y%m%d-%H%M%S)"
rm -rf "$WD"; mkdir -p "$WD/empty"
trap 'stop_server' EXIT
trap 'stop_server; exit 130' INT TERM
peer_env "$WD/home"
start_server "$WL" "$WD/server" "$LAT"
feeds_opml "$WL" "http://127.0.0.1:$SRV_PORT" >"$WD/feeds.opml"
write_ini "$WD/f2e.ini"
write_ini "$WD/empty/f2e.ini"
(cd "$WD" && feed2exec --config f2e.ini --database f2e.db import feeds.opml) >"$WD/import.log" 2>&1 \
  || { cat "$WD/import.log" >&2; die "feed2exec import failed"; }

COMMON=(peer=feed2exec variant=echo "n_feeds=$N" "m_items=$M" "latency_ms=$LAT" "state_dir=$WD")
echo "feed2exec $(dpkg-query -W -f='${Version}' feed2exec 2>/dev/null || echo '?') N=$N M=$M latency=${LAT}ms state=$WD"

for CY in noop cold warm304 warm200; do
  case $CY in
    noop) dir="$WD/empty" exp=0 ;;
    cold) dir="$WD" exp=$TOTAL ;;
    warm304) dir="$WD" exp=0 ;;
    warm200) dir="$WD" exp=0; srv_mode 0 >"$WD/server/mode-warm200.json" ;;
  esac
  save_state "$WD/snap" "$dir" f2e.db f2e.db-journal
  attempt=1
  while :; do
    CD="$WD/$CY.$attempt"
    wait_quiet
    srv_stats "$WD/server/before-$CY.$attempt.json"     # zeroes the counters
    before=$(feedcache_rows "$dir/f2e.db")
    (cd "$dir" && timed_cycle "$CD" feed2exec --config f2e.ini --database f2e.db fetch)
    srv_stats "$CD/stats.json"
    after=$(feedcache_rows "$dir/f2e.db")
    record "$RESULTS" "$CD" "$CD/stats.json" "${COMMON[@]}" "cycle=$CY" "attempt=$attempt" \
      "expected_new=$exp" "new_state=$((after - before))" "new_reported=$(grep -c . "$CD/stdout" || true)" \
      "stderr_lines=$(wc -l <"$CD/stderr")" "state_bytes=$(stat -c %s "$dir/f2e.db" 2>/dev/null || echo 0)"
    needs_retry "$CD" "$attempt" || break
    echo "  (other processes were busy during $CY; state restored, running it again)"
    restore_state "$WD/snap" "$dir" f2e.db f2e.db-journal
    attempt=$((attempt + 1))
  done
done
stop_server
