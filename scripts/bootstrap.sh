#!/usr/bin/env bash
# Create or reuse .venv and install the project with its dev extra; source this file.
# Re-installs only when pyproject.toml changed, so the second command is fast.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      PYTHON="$candidate"; break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

if [ -x .venv/bin/python ] \
  && ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "==> .venv is not Python 3.11: recreating it"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -c 'import ensurepip' 2>/dev/null || {
    echo "error: $PYTHON cannot create virtualenvs (no ensurepip);" \
      "on Debian/Ubuntu: apt-get install python3.11-venv" >&2
    exit 1
  }
  echo "==> creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> installing the project and its pinned dependencies into .venv (about a minute)"
  start=$(date +%s)
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
  echo "==> installed in $(( $(date +%s) - start ))s"
fi

# The project's own instance follows instance/dagster.yaml (not in the repo root, where
# `dagster dev` would warn it is unused); a DAGSTER_HOME you set keeps its own file.
if [ -z "${DAGSTER_HOME:-}" ]; then
  export DAGSTER_HOME="$ROOT/.dagster"
  mkdir -p "$DAGSTER_HOME"
  cp instance/dagster.yaml "$DAGSTER_HOME/dagster.yaml"
elif [ ! -f "$DAGSTER_HOME/dagster.yaml" ]; then
  mkdir -p "$DAGSTER_HOME"
  cp instance/dagster.yaml "$DAGSTER_HOME/dagster.yaml"
fi
export PATH="$ROOT/.venv/bin:$PATH"

# DuckDB loads ducklake / sqlite / postgres from its extension directory: copy them there from
# their wheels (idempotent), so no client on this machine ever downloads one.
python -m pipelines extensions >/dev/null

# dagster-dbt loads the dbt manifest with the definitions: parse the project (no lake needed)
# when it changed since the last parse or no manifest exists yet.
dbt_stamp="warehouse/target/.parsed-$(find warehouse -path warehouse/target -prune -o -path warehouse/logs -prune \
  -o -type f \( -name '*.sql' -o -name '*.yml' \) -print | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)"
if [ ! -f "$dbt_stamp" ] || [ ! -f warehouse/target/manifest.json ]; then
  (cd warehouse && DBT_SEND_ANONYMOUS_USAGE_STATS=false ../.venv/bin/dbt parse --quiet --profiles-dir .) \
    || { echo "error: dbt parse of warehouse/ failed (see above)" >&2; exit 1; }
  rm -f warehouse/target/.parsed-*
  touch "$dbt_stamp"
fi
