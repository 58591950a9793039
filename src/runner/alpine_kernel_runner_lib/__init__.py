"""Library of the alpine-kernel cell runner (see docs/cell-runner.md).

Lives next to alpine_kernel_runner.py and is copied with it; stdlib only.
"""
