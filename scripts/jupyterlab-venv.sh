#!/bin/bash
# JupyterLab 4.6.4 for the browser tests, in a venv made with Debian's Python from the local wheel
# mirror (never pip's default index: unreachable here, pip would wait minutes). Cached in one fixed
# place, readable by the test cluster's ordinary user, and reused when it is already complete.
# Prints the venv's path. Usage: scripts/jupyterlab-venv.sh [VENV_DIR]
set -eo pipefail
VENV="${1:-${ALPINE_KERNEL_JUPYTERLAB_VENV:-/opt/alpine-kernel-test/jupyterlab-4.6.4}}"
INDEX="${ALPINE_KERNEL_PIP_INDEX:-file:///opt/pypi/simple}"
if [ -f "$VENV/.complete" ] && [ -x "$VENV/bin/jupyter-lab" ]; then echo "$VENV"; exit 0; fi
echo "jupyterlab-venv: installing JupyterLab 4.6.4 into $VENV from $INDEX" >&2
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
trap 'rm -rf "$VENV"' ERR
/usr/bin/python3 -m venv "$VENV"
# (pip's configured extra indexes may be missing folders here: its warnings about them are dropped)
"$VENV/bin/pip" install -q --disable-pip-version-check --no-input --index-url "$INDEX" jupyterlab==4.6.4 2>&1 \
  | { grep -v "is ignored: it is neither a file nor a directory" || true; } >&2
"$VENV/bin/python" -c 'import jupyterlab, sys; sys.exit(jupyterlab.__version__ != "4.6.4")'
touch "$VENV/.complete"
chmod -R a+rX "$(dirname "$VENV")"
echo "$VENV"
