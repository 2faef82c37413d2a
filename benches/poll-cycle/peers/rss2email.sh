#!/usr/bin/env bash
# Debian's rss2email (r2e) through the poll cycles of benches/poll-cycle.sh, against serve.py on
# 127.0.0.1, each cycle timed and recorded as benches/poll-cycle/storywatch.sh records storywatch.
# Nothing is mailed: every new entry becomes a file in a local Maildir.
#
# usage: benches/poll-cycle/peers/rss2email.sh -w WORKLOAD [-l LATENCY_MS] [-r RESULTS.jsonl]
#                                              [-o OUTROOT] [-t CYCLE_TIMEOUT]
#
# Cycles, one `r2e run` process each, one state dir and one server:
#   noop     no feeds configured (own config and state): the fixed cost of a cycle
#   cold     empty state, validators on: every entry is new
#   warm304  same content; its conditional requests get 304s
#   warm200  same content; validators off, every answer a 200
# Config: what `r2e new` writes, with only email-protocol = maildir, maildir-path (a Maildir of
# its own for every cycle and attempt, whose files are counted as new_reported) and
# verbose = warning (r2e new's "info" logs a line per feed and entry) changed; the feeds imported
# from an OPML list. new_state: entries added to the "seen" lists of its JSON state.
#   WORKLOAD  a workload.py folder;  OUTROOT  where the state dir goes (default: tmpfs if any)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$HERE/../lib.sh"

peer_args 18 "$@"
command -v r2e >/dev/null || die "rss2email is not installed (apt-get install rss2email)"
mkdir -p "$OUTROOT"
read -r N M TOTAL < <(manifest_counts "$WL")

# seen_entries STATE.json : entries rss2email has recorded as seen, over all feeds
seen_entries() {
  "$PY" -c 'import json, sys
try:
    feeds = json.load(open(sys.argv[1])).get("feeds", [])
except (OSError, ValueError):
    feeds = []
print(sum(len(f.get("seen") or {}) for f in feeds))' "$1"
}

# set_key CFG KEY VALUE : one key of the [DEFAULT] section r2e new wrote, checked afterwards
set_key() {
  sed -i "s|^$2 = .*|$2 = $3|" "$1"
  grep -qxF "$2 = $3" "$1" || die "could not set $2 in $1"
}

# make_config DIR : r2e's own default config in DIR, delivering to DIR/Maildir
make_config() {
  mkdir -p "$1/Maildir"
  (cd "$1" && r2e -c r2e.cfg -d r2e.json new bench@localhost.invalid) >"$1/new.log" 2>&1 \
    || { cat "$1/new.log" >&2; die "r2e new failed"; }
  set_key "$1/r2e.cfg" email-protocol maildir
  set_key "$1/r2e.cfg" maildir-path "$1/Maildir"
  set_key "$1/r2e.cfg" maildir-mailbox INBOX
  set_key "$1/r2e.cfg" verbose warning
}

WD="$OUTROOT/rss2email-n$N-lat$LAT-$(date +%Y%m%d-%H%M%S)"
rm -rf "$WD"; mkdir -p "$WD/empty"
trap 'stop_server' EXIT
trap 'stop_server; exit 130' INT TERM
peer_env "$WD/home"
start_server "$WL" "$WD/server" "$LAT"
feeds_opml "$WL" "http://127.0.0.1:$SRV_PORT" >"$WD/feeds.opml"
make_config "$WD"
make_config "$WD/empty"
(cd "$WD" && r2e -c r2e.cfg -d r2e.json opmlimport feeds.opml) >"$WD/import.log" 2>&1 \
  || { cat "$WD/import.log" >&2; die "r2e opmlimport failed"; }

COMMON=(peer=rss2email variant=maildir "n_feeds=$N" "m_items=$M" "latency_ms=$LAT" "state_dir=$WD")
echo "rss2email $(dpkg-query -W -f='${Version}' rss2email 2>/dev/null || echo '?') N=$N M=$M latency=${LAT}ms state=$WD"

for CY in noop cold warm304 warm200; do
  case $CY in
    noop) dir="$WD/empty" exp=0 ;;
    cold) dir="$WD" exp=$TOTAL ;;
    warm304) dir="$WD" exp=0 ;;
    warm200) dir="$WD" exp=0; srv_mode 0 >"$WD/server/mode-warm200.json" ;;
  esac
  save_state "$WD/snap" "$dir" r2e.json
  attempt=1
  while :; do
    CD="$WD/$CY.$attempt"
    MD="$WD/Maildir/$CY.$attempt"
    mkdir -p "$MD"
    set_key "$dir/r2e.cfg" maildir-path "$MD"
    wait_quiet
    srv_stats "$WD/server/before-$CY.$attempt.json"     # zeroes the counters
    before=$(seen_entries "$dir/r2e.json")
    (cd "$dir" && timed_cycle "$CD" r2e -c r2e.cfg -d r2e.json run)
    srv_stats "$CD/stats.json"
    after=$(seen_entries "$dir/r2e.json")
    record "$RESULTS" "$CD" "$CD/stats.json" "${COMMON[@]}" "cycle=$CY" "attempt=$attempt" \
      "expected_new=$exp" "new_state=$((after - before))" "new_reported=$(find "$MD" -type f | wc -l)" \
      "stderr_lines=$(wc -l <"$CD/stderr")" "state_bytes=$(stat -c %s "$dir/r2e.json" 2>/dev/null || echo 0)"
    needs_retry "$CD" "$attempt" || break
    echo "  (other processes were busy during $CY; state restored, running it again)"
    restore_state "$WD/snap" "$dir" r2e.json
    attempt=$((attempt + 1))
  done
done
stop_server
