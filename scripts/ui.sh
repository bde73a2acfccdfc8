#!/usr/bin/env bash
# Open the Dagster UI (webserver + daemon for schedules and backfills) on this project.
#
#   bash scripts/ui.sh [dagster dev options]              your own settings (env or .dlt/)
#   bash scripts/ui.sh --simulator [dagster dev options]  against the bundled vendor simulator
#
# --simulator starts the simulator on a free loopback port, exports every vendor's base URL
# and key (dlt's SOURCES__<VENDOR>__...) and opens the UI on http://127.0.0.1:3000 (a later
# `-p` / `-h` wins). Each runs in its own process group (job control), so one Ctrl-C, or a
# SIGTERM to this script, stops dagster dev with all its processes, and then the simulator.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

# A shell started in the background (CI, nohup) hands its children SIGINT ignored, and dagster
# dev then ignores SIGTERM too (it maps TERM to INT's handler): give it back the default.
dagster_dev=(python -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' dagster dev)

if [ "${1:-}" != "--simulator" ]; then
  exec "${dagster_dev[@]}" "$@"
fi
shift

set -m
sim_out="$(mktemp)"
sim_pid=""
dev_pid=""

# Stop dagster dev's whole process group (webserver, daemon, code servers, runs), then the
# simulator; SIGKILL only what still runs 30 s after the interrupt.
stop() {
  trap - INT TERM EXIT
  if [ -n "$dev_pid" ] && kill -0 -- "-$dev_pid" 2>/dev/null; then
    kill -INT -- "-$dev_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 -- "-$dev_pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 -- "-$dev_pid" 2>/dev/null; then
      echo "note: dagster dev did not stop within 30 s of the interrupt: killing it" >&2
      kill -KILL -- "-$dev_pid" 2>/dev/null || true
    fi
  fi
  if [ -n "$sim_pid" ]; then
    kill -TERM -- "-$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -f "$sim_out"
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

python -m simulator --port 0 >"$sim_out" &
sim_pid=$!
for _ in $(seq 1 100); do
  grep -q '^Ctrl-C to stop' "$sim_out" && break
  kill -0 "$sim_pid" 2>/dev/null || { echo "error: the simulator did not start" >&2; exit 1; }
  sleep 0.1
done
grep -q '^Ctrl-C to stop' "$sim_out" || { echo "error: the simulator did not start in 10 s" >&2; exit 1; }
# Its `  export NAME=value` lines, read as data (never evaluated).
while read -r word setting; do
  [ "$word" = "export" ] && export "${setting?}"
done <"$sim_out"
head -n 1 "$sim_out"
echo "==> vendor settings exported: $(grep -c '^  export ' "$sim_out") (keys are the simulator's)"

"${dagster_dev[@]}" -h 127.0.0.1 -p 3000 "$@" &
dev_pid=$!
# `wait` returns early when a trapped signal arrives; the trap then stops everything.
status=0
wait "$dev_pid" || status=$?
exit "$status"
