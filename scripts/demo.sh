#!/usr/bin/env bash
# README command 1: set up, then run the nightly pipeline for the last 7 days against the
# bundled vendor simulator into data/warehouse.duckdb, and print a summary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec python scripts/demo.py "$@"
