#!/bin/bash
# `npm run demo`: build, then run the example notebook on the embedded local backend.
# Its cells need numpy, pandas and matplotlib; on a Debian machine where we are root and no Python
# has them, install Debian's packages first (about 20 s); otherwise the demo says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
has_stack() {
  local py
  for py in ${ALPINE_KERNEL_DEMO_PYTHON:-} python3 /usr/bin/python3; do
    "$py" -c 'import numpy, pandas, matplotlib' >/dev/null 2>&1 && return 0
  done
  return 1
}
if ! has_stack && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "demo: no Python here has numpy, pandas and matplotlib; installing Debian's python3-numpy python3-pandas python3-matplotlib"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends python3-numpy python3-pandas python3-matplotlib >/dev/null
fi
npm run -s build
exec node dist/cli/main.js demo "$@"
