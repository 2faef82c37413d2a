#!/usr/bin/env bash
# Which release profile to ship: each candidate built from a fresh clone of HEAD (the build time
# a new user waits for), then the same poll cycles of each binary over one workload, side by side.
#
# usage: benches/release-profile.sh [-n FEEDS] [-w WORKDIR] [-k]
#   -n  feeds in the poll-cycle workload (default 1000)
#   -w  where the clones, build logs and results go (default /tmp/storywatch-profiles)
#   -k  keep builds already in WORKDIR (their recorded build times stand) instead of rebuilding
# Candidates: fat (lto = "fat", codegen-units = 1), thin (lto = "thin", codegen-units = 16),
# local (lto = false, codegen-units = 16: thin-local, cargo's default).
# Prints a markdown table: build time, then each cycle's wall and CPU seconds and peak RSS.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N=1000 WORK=/tmp/storywatch-profiles KEEP=0
while getopts "n:w:kh" opt; do
  case "$opt" in
    n) N="$OPTARG" ;; w) WORK="$OPTARG" ;; k) KEEP=1 ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
  esac
done
mkdir -p "$WORK"
VARIANTS=(fat thin local)
profile() {
  case "$1" in
    fat) printf 'lto = "fat"\ncodegen-units = 1\n' ;;
    thin) printf 'lto = "thin"\ncodegen-units = 16\n' ;;
    local) printf 'lto = false\ncodegen-units = 16\n' ;;
  esac
}
for v in "${VARIANTS[@]}"; do
  if (( KEEP )) && [[ -x "$WORK/$v/target/release/storywatch" ]] && grep -q "^$v " "$WORK/times.txt" 2>/dev/null; then
    continue
  fi
  rm -rf "${WORK:?}/$v"
  git clone -q "$REPO" "$WORK/$v"
  # The committed [profile.release] with its lto and codegen-units lines replaced.
  python3 - "$WORK/$v/Cargo.toml" "$(profile "$v")" <<'PY'
import re, sys
path, new = sys.argv[1], sys.argv[2]
text = open(path).read()
head, sep, rest = text.partition("[profile.release]\n")
body, nxt, tail = rest.partition("\n[")
body = re.sub(r"^(lto|codegen-units) = .*\n?", "", body, flags=re.M)
open(path, "w").write(head + sep + new + body + nxt + tail)
PY
  start=$(date +%s.%N)
  (cd "$WORK/$v" && cargo build --release --locked --bin storywatch --example fill_store) >"$WORK/$v.log" 2>&1
  end=$(date +%s.%N)
  sed -i "/^$v /d" "$WORK/times.txt" 2>/dev/null || true
  echo "$v $(python3 -c "print(round($end - $start, 1))")" >>"$WORK/times.txt"
done
for v in "${VARIANTS[@]}"; do
  rm -rf "$WORK/$v-cycles"
  STORYWATCH_BIN="$WORK/$v/target/release/storywatch" \
    bash "$REPO/benches/poll-cycle.sh" -n "$N" -p storywatch -o "$WORK/$v-cycles" >"$WORK/$v-cycles.log" 2>&1
done
python3 - "$WORK" "${VARIANTS[@]}" <<'PY'
import json, sys
work, variants = sys.argv[1], sys.argv[2:]
built = dict(l.split()[:2] for l in open(f"{work}/times.txt") if len(l.split()) >= 2)
cycles = ["noop", "cold", "warm304", "warm200"]
print("| profile | fresh build s | " + " | ".join(f"{c} wall s / CPU s / RSS MiB" for c in cycles) + " |")
print("|---|---:|" + "---:|" * len(cycles))
for v in variants:
    last = {}
    for line in open(f"{work}/{v}-cycles/results.jsonl"):
        r = json.loads(line)
        last[r["cycle"]] = r
    cells = []
    for c in cycles:
        r = last.get(c)
        cells.append("-" if r is None else
                     f"{r['wall_s']:.3f} / {r['user_s'] + r['sys_s']:.2f} / {r['max_rss_kb'] / 1024:.1f}")
    print(f"| {v} | {built.get(v, '-')} | " + " | ".join(cells) + " |")
PY
