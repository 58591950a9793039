#!/bin/bash
# The whole test suite, from a fresh clone on a fresh Debian 12 machine (as root):
# installs and starts what the tests talk to (Jupyter tools, Chromium, Slurm + munge + slurmdbd/MariaDB,
# sshd, Lmod), builds, lints, and runs the unit and integration tests against those real peers.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
step() { echo; echo "=== [$(( $(date +%s) - T0 ))s] $*"; }
mkdir -p test-artifacts
rm -f test-artifacts/jest-*.json
# The closing line CI reads: "N passed, N failed" over every jest run, also when one of them failed.
summary() {
  node -e '
    const fs = require("fs"); let p = 0, f = 0;
    for (const n of ["unit", "integration-cluster", "integration-local"]) {
      try { const r = JSON.parse(fs.readFileSync(`test-artifacts/jest-${n}.json`, "utf8")); p += r.numPassedTests; f += r.numFailedTests + r.numRuntimeErrorTestSuites; } catch {}
    }
    console.log(`\n${p} passed, ${f} failed`);'
}
trap summary EXIT

step "system packages (Debian)"
scripts/install-system-deps.sh

step "npm ci"
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund

step "build, type-check, lint"
npm run -s build
npx tsc --noEmit -p tsconfig.json
# The house rules: type-aware eslint (eslint.config.mjs) and prettier --check, over src, test and
# bench; package.json's "lint" is the one place that says how.
npm run -s lint

# The unit tier needs nothing but Node and npm packages (jest.config.js): before the cluster comes up.
step "unit tests"
npx jest --selectProjects unit --ci --json --outputFile=test-artifacts/jest-unit.json

step "JupyterLab 4.6.4 for the browser tests (a venv from the local wheel mirror, cached)"
scripts/jupyterlab-venv.sh

step "test cluster (Slurm, slurmdbd, munge, sshd, Lmod)"
scripts/test-cluster/up.sh

step "integration tests (real peers; the cluster's files and the others in two lanes at once)"
scripts/integration-tests.sh

step "done in $(( $(date +%s) - T0 ))s"
