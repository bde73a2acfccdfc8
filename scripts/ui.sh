#!/usr/bin/env bash
# Open the Dagster UI (webserver + daemon for schedules and backfills) on this project.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec dagster dev "$@"
