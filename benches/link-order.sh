#!/usr/bin/env bash
# Regenerates link/symbol-order.txt: the functions a cold and a warm poll run, hottest first,
# which build.rs hands to lld so that they sit together in the release binary (about 3.5 MiB
# less code mapped in a poll). Run it after a toolchain or dependency upgrade, or a large change to the
# hot path: names that no longer exist are skipped at link time, new ones are laid out after the
# listed ones, so a stale list costs memory, never correctness.
#
# usage: benches/link-order.sh [-n FEEDS] [-o OUT]
#   FEEDS  feeds in the profiled workload (default 30; every feed runs the same code)
#   OUT    default link/symbol-order.txt
# Needs valgrind (installed with apt-get when missing) and the shared kit (../shared/bench);
# traffic stays on 127.0.0.1. Takes about a minute: callgrind runs the binary 50-100x slower.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
KIT="${SHARED_BENCH:-$ROOT/../shared/bench}"
[[ -f "$KIT/lib.sh" ]] || { echo "error: benchmark kit not found at $KIT (set SHARED_BENCH)" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=../../shared/bench/lib.sh
source "$KIT/lib.sh"

FEEDS=30 OUT="$ROOT/link/symbol-order.txt"
while getopts "n:o:h" opt; do
  case "$opt" in
    n) FEEDS="$OPTARG" ;; o) OUT="$OPTARG" ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
[[ "$FEEDS" =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number of feeds"
ARTICLE="$(realpath -e "$KIT/../story/reference-article.txt" 2>/dev/null)" \
  || die "the story's reference article is missing: $KIT/../story/reference-article.txt"

if ! command -v valgrind >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "valgrind is missing and apt-get is not available"
  sudo=""; [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi

# The build's fingerprint of Cargo.toml, Cargo.lock and the toolchain (build.rs), recorded in the
# list's first line so that a later build can tell the list is stale.
OUT_DIR="$(cd "$ROOT" && cargo build --release --locked --bin storywatch --message-format=json \
  | "$PY" -c 'import json, re, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "build-script-executed" and re.search(r"(^|#)storywatch[@ ]", m["package_id"]):
        print(m["out_dir"])')"
INPUTS="$(cat "$OUT_DIR/link-inputs" 2>/dev/null)" || die "the build wrote no fingerprint ($OUT_DIR/link-inputs)"
BIN="$ROOT/target/release/storywatch"

WORK="$(mktemp -d)"
trap 'stop_server; rm -rf "$WORK"' EXIT
# Another seed than the benchmark's: the list is about which code runs, not about those items.
"$PY" "$KIT/gen_feeds.py" -n "$FEEDS" -m 50 --seed 7 -o "$WORK/wl" >/dev/null
start_server "$WORK/wl" 0 0 cond "$WORK/server"

mkdir -p "$WORK/state"
{
  printf '[storage]\npath = "storywatch.db"\n\n[alerts]\nmax_age = "36500d"\n\n'
  printf '[[story]]\nid = "ceasefire-talks"\narticle = "%s"\n\n' "$ARTICLE"
  printf '[[sink]]\nname = "out"\nkind = "stdout"\n'
  while IFS= read -r path; do
    [[ -n "$path" ]] || continue
    name="${path##*/}"
    printf '\n[[feed]]\nname = "feed-%s"\nurl = "http://127.0.0.1:%s/%s"\n' "${name%%.*}" "$SRV_PORT" "$path"
  done <"$WORK/wl/feeds.txt"
} >"$WORK/state/storywatch.toml"

# cold: every entry new; warm: the same feeds again, answered with 304s
for cycle in cold warm; do
  (cd "$WORK/state" && timeout 600 valgrind --tool=callgrind --demangle=no \
      --callgrind-out-file="$WORK/$cycle.cg" "$BIN" --config storywatch.toml poll --json \
      >"$WORK/$cycle.out" 2>"$WORK/$cycle.err") \
    || { tail -20 "$WORK/$cycle.err" >&2; die "the $cycle poll failed under callgrind"; }
done

mkdir -p "$(dirname "$OUT")"
{
  echo "# inputs $INPUTS"
  "$PY" "$HERE/link-order/symbols.py" "$BIN" "$WORK/cold.cg" "$WORK/warm.cg"
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$(wc -l <"$OUT") symbols -> $OUT"
