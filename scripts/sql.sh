#!/usr/bin/env bash
# The analyst's SQL shell: the DuckDB 1.5.5 CLI on the warehouse, read-only, lake attached,
# schemas on the search path (`select * from trending_now`). Extra arguments go to duckdb,
# e.g. `bash scripts/sql.sh -c "select count(*) from dim_video"`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec python -m pipelines shell "$@"
