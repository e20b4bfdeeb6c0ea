#!/usr/bin/env bash
# The end-to-end check against the Conductor server at CONDUCTOR_SERVER_URL: wait for the server,
# `register`, start the `worker` in the background, `run-workflow`, expect COMPLETED; then queue a
# burst of workflows, start a worker and SIGTERM it while it holds tasks: it must exit 0, and once a
# third worker has finished the rest, every workflow must be COMPLETED with its task run exactly once
# (a lost task would be re-run after responseTimeoutSeconds). CI's e2e job runs exactly this script,
# also on every SDK update.
#   docker compose up -d conductor && make install && scripts/e2e.sh
# Settings (environment): CONDUCTOR_SERVER_URL (default http://localhost:8080/api), CONDUCTOR_AUTH_KEY
# and CONDUCTOR_AUTH_SECRET for Orkes, PYTHON (default .venv/bin/python), E2E_LOG_DIR (default e2e-logs:
# the worker's log and the workflow's result), E2E_SERVER_WAIT_SECONDS (180), E2E_WORKFLOW_TIMEOUT_SECONDS (120),
# E2E_DRAIN_WORKFLOWS (300: the burst the worker is stopped in).
set -euo pipefail
cd "$(dirname "$0")/.."

package={{ cookiecutter.package_name }}
export CONDUCTOR_SERVER_URL=${CONDUCTOR_SERVER_URL:-http://localhost:8080/api}
python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi
log_dir=${E2E_LOG_DIR:-e2e-logs}
server_wait=${E2E_SERVER_WAIT_SECONDS:-180}
workflow_timeout=${E2E_WORKFLOW_TIMEOUT_SECONDS:-120}
mkdir -p "$log_dir"
log_dir=$(cd "$log_dir" && pwd)
worker_log=$log_dir/worker.log
export WORKER_HEALTH_DIR=${WORKER_HEALTH_DIR:-$log_dir/health}
worker_pid=

say() { echo "e2e: $*"; }

fail() {
  echo "e2e: FAILED: $*" >&2
  if [ -s "$worker_log" ]; then
    echo "e2e: last lines of $worker_log:" >&2
    tail -n 40 "$worker_log" >&2
  fi
  exit 1
}

start_worker() {  # LOG [no-wait]: without no-wait, return once the worker polls
  worker_log=$1
  say "starting the worker (log: $worker_log)"
  "$python" -m "$package" worker >"$worker_log" 2>&1 &
  worker_pid=$!
  [ "${2:-}" != no-wait ] || return 0
  local deadline=$((SECONDS + 60))
  until "$python" -m "$package" health >/dev/null 2>&1; do
    kill -0 "$worker_pid" 2>/dev/null || fail "the worker exited before it polled"
    [ "$SECONDS" -lt "$deadline" ] || fail "the worker did not poll the server within 60s"
    sleep 1
  done
  say "the worker is polling"
}

stop_worker() {
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    kill -TERM "$worker_pid"
    wait "$worker_pid" || true
  fi
}

wait_drained() {  # the worker was sent SIGTERM: it must drain and exit 0
  local status=0
  wait "$worker_pid" || status=$?
  worker_pid=
  [ "$status" -eq 0 ] || fail "the worker exited with status $status after SIGTERM"
}

drain_worker() {
  kill -TERM "$worker_pid"
  wait_drained
  say "the worker drained and exited 0"
}

trap stop_worker EXIT

server_root=${CONDUCTOR_SERVER_URL%/}
server_root=${server_root%/api}
say "waiting up to ${server_wait}s for the Conductor server at $server_root"
deadline=$((SECONDS + server_wait))
until "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5).close()' \
    "$server_root/health" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    fail "no Conductor server answered at $server_root/health within ${server_wait}s; check CONDUCTOR_SERVER_URL"
  fi
  sleep 2
done

say "register"
"$python" -m "$package" register || fail "register did not succeed (its error is above)"

start_worker "$log_dir/worker.log"

say "run-workflow"
if ! "$python" -m "$package" run-workflow --timeout "$workflow_timeout" | tee "$log_dir/workflow.json"; then
  fail "the example workflow did not complete (its status and output are above)"
fi

drain_worker

say "SIGTERM while the worker is busy"
"$python" scripts/drain_check.py queue "$log_dir/drain-workflows.txt" \
  || fail "could not start the burst of workflows (the error is above)"
start_worker "$log_dir/worker-drain.log" no-wait
"$python" scripts/drain_check.py signal "$worker_pid" "$log_dir/drain-workflows.txt" \
  || fail "the worker did not get under way (the error is above)"
wait_drained
in_flight=$(sed -n 's/.*draining \([0-9]*\) task(s) in flight.*/\1/p' "$worker_log" | awk '{ n += $1 } END { print n + 0 }')
[ "$in_flight" -gt 0 ] || fail "no task was in flight when SIGTERM came, so the drain was not tested; raise E2E_DRAIN_WORKFLOWS"
say "the worker drained $in_flight task(s) in flight and exited 0"

start_worker "$log_dir/worker-after-drain.log"
"$python" scripts/drain_check.py verify "$log_dir/drain-workflows.txt" \
  || fail "a task was lost or run twice across the drain (the workflows are listed above)"
trap - EXIT
drain_worker
say "COMPLETED"
