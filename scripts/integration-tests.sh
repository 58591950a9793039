#!/bin/bash
# The integration tier in two lanes at once (the whole tier one file at a time took 32 min):
# - cluster: every file that uses the test cluster (Slurm, sshd, the cluster's user), one at a time,
#   since they share its nodes, its controller (slurm-outage freezes it) and its counters;
# - local: the others (local backend, runner, Jupyter tools, browsers), one at a time beside them.
# A file is a cluster file when it names what only the cluster gives; anything else is local.
# Each lane writes test-artifacts/jest-integration-<lane>.json; the local lane's output is printed
# after the cluster lane's, not interleaved with it. Extra arguments go to both jest runs.
set -uo pipefail
cd "$(dirname "$0")/.."
CLUSTER_WORDS='requireCluster|helpers/slurm|helpers/ssh|helpers/allocation|ssh-fixtures|sbatch|squeue|test-cluster'
mapfile -t ALL < <(find test/integration -name '*.test.ts' | sort)
mapfile -t CLUSTER < <(grep -lE "$CLUSTER_WORDS" "${ALL[@]}")
mapfile -t LOCAL < <(grep -LE "$CLUSTER_WORDS" "${ALL[@]}")
echo "integration: ${#CLUSTER[@]} cluster files, ${#LOCAL[@]} local files, two lanes"
export ALPINE_KERNEL_SKIP_BUILD=1
lane() {
  local name=$1; shift
  npx jest --selectProjects integration --ci --runInBand --json \
    --outputFile="test-artifacts/jest-integration-$name.json" "${EXTRA[@]}" --runTestsByPath "$@"
}
EXTRA=("$@")
# Its own process group (set -m), so that a stopped run (Ctrl-C, CI timeout) takes the whole lane with it.
set -m
lane local "${LOCAL[@]}" > test-artifacts/integration-local.log 2>&1 &
LOCAL_PID=$!
set +m
trap 'kill -- -"$LOCAL_PID" 2>/dev/null' EXIT
rc=0
lane cluster "${CLUSTER[@]}" || rc=$?
wait "$LOCAL_PID" || rc=$?
trap - EXIT
echo; echo "=== the local lane (ran beside the cluster lane)"
cat test-artifacts/integration-local.log
exit "$rc"
