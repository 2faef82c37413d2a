#!/usr/bin/env bash
# Cold and warm `storywatch poll` over the real-world fixture feeds in
# ../shared/fixtures/feeds, served on 127.0.0.1 by Python's http.server
# (which answers If-Modified-Since with 304). Prints wall and CPU time.
#   usage: benches/fixture-poll.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
fixtures=$(cd ../shared/fixtures/feeds && pwd)
cargo build --release --locked -q
bin=$PWD/target/release/storywatch
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$fixtures" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
i=0
for f in "$fixtures"/*; do
  i=$((i + 1))
  printf '[[feed]]\nname = "fixture-%d"\nurl = "http://127.0.0.1:%s/%s"\n\n' "$i" "$port" "$(basename "$f")"
done > "$work/storywatch.toml"
echo "feeds: $i"
for run in $(seq "$runs"); do
  rm -f "$work"/storywatch.db*
  for phase in cold warm; do
    /usr/bin/time -f "$phase run $run: wall %es  cpu %Us user %Ss sys  maxrss %MKiB" \
      "$bin" --log-level error --config "$work/storywatch.toml" poll --json >"$work/$phase.json"
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("   ", {k: j[k] for k in ("fetched","not_modified","failed","items_new")})' "$work/$phase.json"
  done
done
