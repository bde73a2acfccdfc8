#!/usr/bin/env bash
# Move an old single-file warehouse (default data/warehouse.duckdb) into the lake and
# compare every table; see scripts/migrate_warehouse.py (--replace, --old-duckdb-venv).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec python scripts/migrate_warehouse.py "$@"
