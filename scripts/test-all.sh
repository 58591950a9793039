#!/bin/bash
# The whole test suite, from a fresh clone on a fresh Debian 12 machine (as root):
# installs and starts what the tests talk to (Jupyter tools, Chromium, Slurm + munge + slurmdbd/MariaDB,
# sshd, Lmod), builds, lints, and runs the unit and integration tests against those real peers.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
step() { echo; echo "=== [$(( $(date +%s) - T0 ))s] $*"; }

step "system packages (Debian)"
scripts/install-system-deps.sh

step "npm ci"
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund

step "build, type-check, lint"
npm run -s build
npx tsc --noEmit -p tsconfig.json
npx eslint src test bench

step "test cluster (Slurm, slurmdbd, munge, sshd, Lmod)"
scripts/test-cluster/up.sh

step "unit tests"
npx jest --selectProjects unit --ci

step "integration tests (real peers, one file at a time)"
ALPINE_KERNEL_SKIP_BUILD=1 npx jest --selectProjects integration --ci --runInBand

step "done in $(( $(date +%s) - T0 ))s"
