# shellcheck shell=bash
# Shell pieces shared by benches/poll-cycle.sh and its runners (storywatch.sh, peers/*.sh).
# Source it: it only defines settings and functions.
#
# Settings, from the environment [default]:
#   CYCLE_TIMEOUT       seconds one timed cycle may run before it is killed [1200]
#   QUIET_MAX_CORES     before each timed cycle, wait until other processes keep fewer cores
#                       busy than this [0.5] ...
#   QUIET_WAIT_MAX      ... but at most this many seconds, then go ahead [300]
#   RETRY_OTHER_LOAD    run a cycle again, its state restored, when other processes kept more
#                       cores than this busy on average while it ran [0.5] ...
#   MAX_ATTEMPTS        ... up to this many runs of the cycle in all [3]
#   SERVER_MAX_SECONDS  the feed server stops by itself after this long [14400]
#   STATE_ROOT          default_outroot's answer, when set

POLL_CYCLE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The system Python: what the Debian peers run on, and never a version manager's shim (whose PID
# would not be the server's).
if [[ -x /usr/bin/python3 ]]; then PY=/usr/bin/python3; else PY="$(command -v python3 || echo python3)"; fi
CYCLE_TIMEOUT="${CYCLE_TIMEOUT:-1200}"
QUIET_MAX_CORES="${QUIET_MAX_CORES:-0.5}"
QUIET_WAIT_MAX="${QUIET_WAIT_MAX:-300}"
RETRY_OTHER_LOAD="${RETRY_OTHER_LOAD:-0.5}"
MAX_ATTEMPTS="${MAX_ATTEMPTS:-3}"
SERVER_MAX_SECONDS="${SERVER_MAX_SECONDS:-14400}"
SRV_PID="" SRV_PORT=""

die() { echo "error: $*" >&2; exit 2; }

# free_port : a TCP port free on 127.0.0.1 right now
free_port() {
  "$PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# default_outroot : where runners put their state without -o: $STATE_ROOT, else tmpfs (the
# figures then measure the tools, not the disk's fsync latency), else /tmp
default_outroot() {
  if [[ -n "${STATE_ROOT:-}" ]]; then echo "$STATE_ROOT"
  elif [[ -d /dev/shm && -w /dev/shm ]]; then echo /dev/shm/storywatch-bench
  else echo /tmp/storywatch-bench; fi
}

# start_server WORKLOAD LOGDIR [LATENCY_MS] [PORT] : serve.py in the background, validators on;
# returns once it listens, with SRV_PORT and SRV_PID set. PORT 0 (the default) lets the server
# pick a free port itself, so that no other process can take it in between.
start_server() {
  local wl="$1" logdir="$2" lat="${3:-0}" port="${4:-0}" i
  [[ -z "$SRV_PID" ]] || die "a feed server is already running (pid $SRV_PID)"
  mkdir -p "$logdir"
  rm -f "$logdir/port"
  "$PY" "$POLL_CYCLE_DIR/serve.py" "$wl" --port "$port" --port-file "$logdir/port" \
    --latency-ms "$lat" --stats-file "$logdir/final-stats.json" \
    --max-seconds "$SERVER_MAX_SECONDS" >"$logdir/server.log" 2>&1 &
  SRV_PID=$!
  for ((i = 0; i < 300; i++)); do
    [[ -s "$logdir/port" ]] && break
    kill -0 "$SRV_PID" 2>/dev/null || { cat "$logdir/server.log" >&2; SRV_PID=""; die "the feed server exited"; }
    sleep 0.1
  done
  [[ -s "$logdir/port" ]] || { stop_server; die "the feed server did not start within 30 s"; }
  SRV_PORT="$(<"$logdir/port")"
}

# stop_server : SIGTERM to the server started above (by its PID), SIGKILL after 5 s
stop_server() {
  [[ -n "$SRV_PID" ]] || return 0
  local i
  kill -TERM "$SRV_PID" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || true
  SRV_PID="" SRV_PORT=""
}

# srv_ctl GET|POST PATH_AND_QUERY : one control request to the server; prints its JSON answer
srv_ctl() {
  "$PY" -c 'import sys, urllib.request
method, port, target = sys.argv[1:]
req = urllib.request.Request(f"http://127.0.0.1:{port}{target}", method=method,
                             data=b"" if method == "POST" else None)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
print(opener.open(req, timeout=60).read().decode().strip())' "$1" "$SRV_PORT" "$2"
}
# srv_stats FILE : the counters since the last reset into FILE, then zero them
srv_stats() { srv_ctl GET "/_stats?reset=1" >"$1"; }
# srv_mode 1|0 : validators (ETag, Last-Modified, 304s) on, or off (always 200)
srv_mode() { srv_ctl POST "/_mode?validators=$1"; }

# peer_env HOME : run what follows in HOME with its own XDG dirs, no proxies, a UTF-8 locale
peer_env() {
  local home="$1"
  mkdir -p "$home/.config" "$home/.local/share" "$home/.cache" "$home/run"
  chmod 700 "$home/run"
  export HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
    XDG_CACHE_HOME="$home/.cache" XDG_RUNTIME_DIR="$home/run" LC_ALL=C.UTF-8
  unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
  export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
}

# timed_cycle DIR CMD... : run CMD under `timeout CYCLE_TIMEOUT` and `/usr/bin/time -v`, keeping
# DIR/stdout, DIR/stderr, DIR/time.txt, DIR/rc (CMD's exit code; 124 or 137 when killed),
# DIR/wall.txt (start and end, epoch seconds) and DIR/procstat.txt (the machine's CPU counters
# before and after, for record.py's other load). Returns 0 whatever CMD did.
timed_cycle() {
  local d="$1" rc=0 t0 t1; shift
  [[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (apt-get install time)"
  mkdir -p "$d"
  sync                                    # earlier writes are not flushed on this cycle's time
  head -n 1 /proc/stat >"$d/procstat.txt"
  t0=$(date +%s.%N)
  timeout --kill-after=10 "$CYCLE_TIMEOUT" /usr/bin/time -v -o "$d/time.txt" "$@" \
    >"$d/stdout" 2>"$d/stderr" || rc=$?
  t1=$(date +%s.%N)
  head -n 1 /proc/stat >>"$d/procstat.txt"
  echo "$rc" >"$d/rc"
  echo "$t0 $t1" >"$d/wall.txt"
}

# wait_quiet : before a timed cycle, wait until other processes keep fewer than QUIET_MAX_CORES
# cores busy (measured over 2 s, while nothing of ours runs), for at most QUIET_WAIT_MAX seconds
wait_quiet() {
  "$PY" -c 'import os, sys, time
limit, patience = float(sys.argv[1]), float(sys.argv[2])
def sample():
    with open("/proc/stat") as fh:
        v = [int(x) for x in fh.readline().split()[1:]]
    return sum(v), sum(v[3:5])
start = time.monotonic()
while True:
    t0, i0 = sample()
    time.sleep(2)
    t1, i1 = sample()
    busy = ((t1 - t0) - (i1 - i0)) / max(1, t1 - t0) * (os.cpu_count() or 1)
    if busy < limit:
        break
    if time.monotonic() - start >= patience:
        print(f"  (other processes still keep {busy:.2f} cores busy after {patience:g} s; going ahead)")
        break' "$QUIET_MAX_CORES" "$QUIET_WAIT_MAX"
}

# needs_retry CYCLEDIR ATTEMPT : true when other processes kept more than RETRY_OTHER_LOAD cores
# busy during the recorded cycle (record.py's CYCLEDIR/other_load) and attempts remain
needs_retry() {
  local load
  load=$(cat "$1/other_load" 2>/dev/null || echo 0)
  (($2 < MAX_ATTEMPTS)) && awk -v l="$load" -v m="$RETRY_OTHER_LOAD" 'BEGIN { exit !(l > m) }'
}

# record RESULTS CYCLEDIR STATS KEY=VALUE... : append the cycle's record (see record.py)
record() { "$PY" "$POLL_CYCLE_DIR/record.py" "$@" "other_load_limit=$RETRY_OTHER_LOAD"; }

# manifest_counts WORKLOAD : "FEEDS ITEMS_PER_FEED TOTAL_ITEMS" from its manifest.json (workload.py's,
# or the feeds_n/items_m layout of another generator given for a cross-check)
manifest_counts() {
  "$PY" -c 'import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
if isinstance(m.get("feeds"), int):
    print(m["feeds"], m["items_per_feed"], m["total_items"])
else:
    print(m["feeds_n"], m["items_m"], m["total_items"])' "$1"
}

# feeds_opml WORKLOAD BASE_URL : an OPML subscription list of the workload's feeds on stdout,
# each named feed-NNNNN after its file, as storywatch.sh names them in its config
feeds_opml() {
  "$PY" -c 'import os, sys
from xml.sax.saxutils import quoteattr
wl, base = sys.argv[1], sys.argv[2].rstrip("/")
out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<opml version=\"2.0\">",
       "<head><title>poll-cycle workload</title></head>", "<body>"]
for path in open(os.path.join(wl, "feeds.txt")).read().split():
    name = quoteattr("feed-" + os.path.basename(path).split(".")[0])
    url = quoteattr(base + "/" + path)
    out.append(f"<outline type=\"rss\" text={name} title={name} xmlUrl={url}/>")
print("\n".join(out + ["</body>", "</opml>"]))' "$1" "$2"
}

# save_state SNAPDIR DIR FILE... / restore_state SNAPDIR DIR FILE... : copy the FILEs of DIR that
# exist aside before a cycle, and put DIR back as it was (absent files removed) for a retry
save_state() {
  local snap="$1" dir="$2" f; shift 2
  rm -rf "$snap"; mkdir -p "$snap"
  for f in "$@"; do
    if [[ -e "$dir/$f" ]]; then cp -a "$dir/$f" "$snap/"; fi
  done
}
restore_state() {
  local snap="$1" dir="$2" f; shift 2
  for f in "$@"; do
    rm -rf "${dir:?}/$f"
    if [[ -e "$snap/$f" ]]; then cp -a "$snap/$f" "$dir/"; fi
  done
}

# peer_args USAGE_END ARGS... : the peers' options into WL, LAT, RESULTS, OUTROOT and
# CYCLE_TIMEOUT; -h (or a bad option) prints lines 2..USAGE_END of the calling script
# shellcheck disable=SC2034  # the variables are the caller's
peer_args() {
  local usage_end="$1" opt OPTIND=1
  shift
  WL="" LAT=0 RESULTS=/tmp/storywatch-bench/results.jsonl OUTROOT="$(default_outroot)"
  while getopts "w:l:r:o:t:h" opt; do
    case "$opt" in
      w) WL="$(realpath "$OPTARG")" ;; l) LAT="$OPTARG" ;; r) RESULTS="$OPTARG" ;;
      o) OUTROOT="$OPTARG" ;; t) CYCLE_TIMEOUT="$OPTARG" ;;
      *) sed -n "2,${usage_end}p" "$0"; exit 2 ;;
    esac
  done
  [[ -f "$WL/manifest.json" ]] || die "-w WORKLOAD (a workload.py folder) is required"
}
