#!/usr/bin/env bash
# README command 2 (and what .ci/run calls): set up, lint, then run the whole test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

# Debian packages the end-to-end tests drive: PostgreSQL (team mode) and Chromium (the UI).
# Installed only when missing, so a second run costs nothing; as root only (CI is root).
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "==> apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
  else
    echo "note: ${missing[*]} not installed (needs root and apt-get); the tests that need" \
      "them skip, saying why" >&2
  fi
fi
echo "==> ruff"
ruff check .
echo "==> pytest"
set +e
# Two workers, a test file each at a time (module fixtures stay shared): much of the suite
# waits on servers, rate-limit sleeps, run monitoring and kill trials, so two overlap on
# 2 cores. Measured on fresh clones: 25.8 min of pytest with two workers, 28.2 with three;
# sending the slowest files first ran them all at once (load average 15) and was slower.
# PYTEST_WORKERS=0 runs it in one process; the 25 slowest cases are listed at the end.
python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile --durations=25 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests; the suite must never pass empty" >&2
  exit 1
fi
exit "$status"
