#!/usr/bin/env bash
# Runs the fuzz targets one after another, each for SECONDS (default 600).
#   fuzz/run.sh                 all targets, 10 minutes each
#   fuzz/run.sh 60 canonical    one target for a minute
# Needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
# New inputs go to fuzz/corpus/TARGET (seeded from fuzz/seeds/TARGET);
# a crash stops that target and leaves its input in fuzz/artifacts/TARGET.
set -u
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=${*:-feed html_to_text canonical config article}
status=0
for t in $targets; do
    mkdir -p "corpus/$t"
    echo "== $t: ${secs}s"
    cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        || { echo "== $t: FAILED (see fuzz/artifacts/$t)"; status=1; }
done
exit $status
