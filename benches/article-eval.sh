#!/usr/bin/env bash
# Article extraction quality beside trafilatura (the reference peer), on the
# real news pages of ../shared/fixtures/articles. Installs the pinned
# trafilatura from PyPI into target/article-eval-venv on first use.
#   usage: benches/article-eval.sh [--json OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/article-eval-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r benches/article-eval.requirements.txt
fi
cargo build --release --locked -q
exec "$venv/bin/python" benches/article-eval.py target/release/storywatch ../shared/fixtures/articles "$@"
