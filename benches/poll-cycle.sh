#!/usr/bin/env bash
# One poll cycle of storywatch, feed2exec and rss2email over N generated feeds served on 127.0.0.1,
# each timed and recorded the same way, then a markdown report of storywatch's speed-up and memory
# against the peers. Everything it runs is in benches/poll-cycle/: workload.py (the feeds),
# serve.py (the feed server), lib.sh (server control, timing, the quiet-machine gate), record.py,
# storywatch.sh and peers/*.sh (the runners) and report.py.
#
# usage: benches/poll-cycle.sh [-n N[,N...]] [-m M] [-l LATENCY_MS] [-p all|storywatch|none]
#                              [-H HISTORY_ITEMS] [-o OUTDIR] [-u]
#   -n  feeds, comma-separated for several workloads (default 1000; N=1000 takes ~15 min, most
#       of it feed2exec)
#   -m  items per feed (default 50)
#   -l  latency the server adds to every answer, ms (default 0)
#   -p  all: storywatch, then feed2exec and rss2email (default); storywatch: storywatch alone
#       (reuse an OUTDIR that holds the peers' results to compare); none: time nothing, only
#       print the report of OUTDIR/results.jsonl (needs -o)
#   -H  also time a cold poll on a store already holding HISTORY_ITEMS items (cycle cold_history)
#   -o  results.jsonl, report.md and every tool's state (default /dev/shm/storywatch-bench/<time>
#       on tmpfs, so that the figures do not measure the disk; else /tmp/storywatch-bench/<time>);
#       results.jsonl is appended to, and the report shows each tool's latest record of each cycle
#   -u  also write the report, with the command, date, commit and machine, into the
#       poll-cycle section of docs/benchmarks.md
# env: STORYWATCH_BIN       binary to time (default: `cargo build --release --locked` here)
#      STORYWATCH_FILL_BIN  store filler for -H (default examples/fill_store beside the binary)
#      BENCH_WL             where workloads are generated once and kept (default /tmp/storywatch-bench/wl)
#      BENCH_WORKLOAD_GEN   another workload generator to use instead of benches/poll-cycle/workload.py,
#                           for a cross-check: a Python script taking -n N -m M --seed S -o DIR that
#                           writes feeds.txt and a manifest.json that lib.sh's manifest_counts reads
#      QUIET_WAIT_MAX       seconds to wait for a quiet machine before each timed cycle (default 300;
#                           e.g. 5 for a quick try while something else keeps the machine busy)
#      and QUIET_MAX_CORES, RETRY_OTHER_LOAD, MAX_ATTEMPTS, CYCLE_TIMEOUT (see benches/poll-cycle/lib.sh)
# Missing peers are installed with apt-get when run as root; otherwise the command is printed.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$REPO/benches/poll-cycle"
# shellcheck source-path=SCRIPTDIR source=poll-cycle/lib.sh
source "$BENCH/lib.sh"       # $PY, die, default_outroot
GEN="${BENCH_WORKLOAD_GEN:-$BENCH/workload.py}"
[[ -f "$GEN" ]] || die "workload generator not found: $GEN"
GEN="$(realpath "$GEN")"
# what the workload depends on: the generator's code and the article it takes the story's names from
GEN_ID="$(cat "$GEN" "$REPO/config/demo/stories/ceasefire-talks.txt" | sha256sum | cut -c1-12)"

NS=1000 M=50 LAT=0 PEERS=all HIST="" OUT="" UPDATE=0
while getopts "n:m:l:p:H:o:uh" opt; do
  case "$opt" in
    n) NS="$OPTARG" ;; m) M="$OPTARG" ;; l) LAT="$OPTARG" ;; p) PEERS="$OPTARG" ;;
    H) HIST="$OPTARG" ;; o) OUT="$OPTARG" ;; u) UPDATE=1 ;;
    *) sed -n '2,30p' "$0"; exit 2 ;;
  esac
done
IFS=, read -r -a NLIST <<<"$NS"
for n in "${NLIST[@]}" "$M"; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "-n and -m want positive numbers, got '$n'"; done
[[ "$LAT" =~ ^[0-9]+$ ]] || die "-l wants milliseconds, got '$LAT'"
[[ -z "$HIST" || "$HIST" =~ ^[1-9][0-9]*$ ]] || die "-H wants a positive number of items, got '$HIST'"
case "$PEERS" in all|storywatch|none) ;; *) die "-p wants all, storywatch or none" ;; esac

if [[ -z "$OUT" ]]; then
  [[ "$PEERS" != none ]] || die "-p none prints the report of an earlier run: give its -o OUTDIR"
  OUT="$(default_outroot)/$(date +%Y%m%d-%H%M%S)"
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"    # the runners cd into their state dirs
RES="$OUT/results.jsonl"

# install_pkgs PACKAGE... : with apt-get as root, else stop and say how
install_pkgs() {
  local cmd=(apt-get install -y --no-install-recommends "$@")
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing $*"
    export DEBIAN_FRONTEND=noninteractive
    # an empty or stale package list is the usual reason an install fails on a fresh machine
    "${cmd[@]}" || { apt-get update && "${cmd[@]}"; } || die "could not install $*"
  else
    die "missing $*; install with: sudo ${cmd[*]}"
  fi
}

if [[ "$PEERS" != none ]]; then
  [[ -x /usr/bin/time ]] || install_pkgs time          # every cycle is timed with time -v
  if [[ "$PEERS" == all ]] && ! { command -v feed2exec && command -v r2e; } >/dev/null; then
    install_pkgs feed2exec rss2email
  fi
  if [[ -n "${STORYWATCH_BIN:-}" ]]; then
    BIN="$STORYWATCH_BIN"
  else
    (cd "$REPO" && cargo build --release --locked)
    BIN="$REPO/target/release/storywatch"
    if [[ -n "$HIST" && -z "${STORYWATCH_FILL_BIN:-}" ]]; then
      (cd "$REPO" && cargo build --release --locked --example fill_store) \
        || die "-H needs examples/fill_store, which did not build"
    fi
  fi
  [[ -x "$BIN" ]] || die "storywatch binary not found at $BIN"
  if [[ -n "$HIST" ]]; then   # checked before the peers' long cycles, not after them
    FILL="${STORYWATCH_FILL_BIN:-$(dirname "$BIN")/examples/fill_store}"
    [[ -x "$FILL" ]] || die "-H needs the store filler, not found at $FILL (set STORYWATCH_FILL_BIN)"
  fi
  {
    echo "date: $(date '+%Y-%m-%d %H:%M:%S %z')"
    echo "storywatch: $("$BIN" --version) $BIN"
    echo "repo: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "workload: $GEN (id $GEN_ID) -m $M --seed 1"
    echo "args: -n $NS -m $M -l $LAT -p $PEERS${HIST:+ -H $HIST}"
  } >>"$OUT/meta.txt"
fi

WL_ROOT="${BENCH_WL:-/tmp/storywatch-bench/wl}"
# workload N : the seed-1 workload of N feeds x M items, generated once and kept under a name
# that changes with the generator and the story article it reads (a stale folder is never
# reused), into a temporary folder first (an interrupted generation is never taken for a
# finished one)
workload() {
  local wl
  wl="$WL_ROOT/$(basename "$GEN" .py)-$GEN_ID-n$1-m$M-s1"
  if [[ ! -f "$wl/manifest.json" ]]; then
    mkdir -p "$WL_ROOT"
    rm -rf "$wl.tmp.$$"
    "$PY" "$GEN" -n "$1" -m "$M" --seed 1 -o "$wl.tmp.$$" >&2
    rm -rf "$wl"
    mv "$wl.tmp.$$" "$wl"
  fi
  echo "$wl"
}

# run TOOL CMD... : a runner that fails is reported and the others still run; the exit code says so
status=0
run() {
  local tool="$1"; shift
  echo "=== $(date +%H:%M:%S) $tool"
  "$@" || { echo "!!! $tool exited $?"; status=1; }
}

if [[ "$PEERS" != none ]]; then
  for n in "${NLIST[@]}"; do
    wl="$(workload "$n")"
    args=(-w "$wl" -l "$LAT" -r "$RES" -o "$OUT/state")
    sw_args=(-b "$BIN"); [[ -z "$HIST" ]] || sw_args+=(-H "$HIST")
    run storywatch bash "$BENCH/storywatch.sh" "${args[@]}" "${sw_args[@]}"
    if [[ "$PEERS" == all ]]; then
      run feed2exec bash "$BENCH/peers/feed2exec.sh" "${args[@]}"
      run rss2email bash "$BENCH/peers/rss2email.sh" "${args[@]}"
    fi
  done
fi

[[ -s "$RES" ]] || die "no results in $RES"
"$PY" "$BENCH/report.py" "$RES" | tee "$OUT/report.md"
if (( UPDATE )); then
  "$PY" "$BENCH/update_docs.py" "$OUT/report.md" "$OUT/meta.txt" "$REPO/docs/benchmarks.md"
  echo "docs/benchmarks.md: poll-cycle section rewritten" >&2
fi
echo "results: $RES, report: $OUT/report.md, state (delete when done): $OUT/state" >&2
exit "$status"
