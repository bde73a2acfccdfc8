#!/usr/bin/env bash
# The benchmark in one command: set up (like scripts/demo.sh), time the dbt models and their
# growth (bench/models.py), then every other measure and the targets table; results land in
# bench/results/<date>-<commit>.json with plots. `--quick` runs tiny sizes and skips models.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/bootstrap.sh"
if [[ " $* " != *" --quick "* ]]; then
  python -m bench.models
fi
exec python -m bench "$@"
