#!/usr/bin/env bash
# README command 2 (and what .ci/run calls): set up, lint, then run the whole test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
echo "==> ruff"
ruff check .
echo "==> pytest"
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests; the suite must never pass empty" >&2
  exit 1
fi
exit "$status"
