#!/bin/bash
# down.sh - stop the daemons scripts/test-cluster/up.sh started, by the PIDs it recorded in
# $RUN/owned (never by name: no pkill/killall). A daemon up.sh found already running is left alone.
#   PURGE=1  also wipe what up.sh generated: slurm state, logs and configs, the accounting database,
#            the test user and its home/scratch/projects dirs, keys, env.sh, the conda stand-in envs,
#            modulefiles and the PAM service. Packages stay installed.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"
[ "$(id -u)" = 0 ] || { echo "down.sh: run as root" >&2; exit 1; }
T0=$(now_ns)
log() { echo "[down +$(fmt_ms $((($(now_ns) - T0) / 1000000)))s] $*"; }

# stop NAME COMM [PIDFILE] : TERM the recorded PID if it still is COMM; KILL after 20 s
stop() {
  local name=$1 comm=$2 pf=${3:-} pid
  pid=$(owned_pid "$name")
  if ! alive "$pid" "$comm"; then
    rm -f "$OWNED/$name"
    local other; other=$(pidfrom "$pf")
    if [ -n "$pf" ] && alive "$other" "$comm"; then log "$name: pid $other was not started by up.sh, left running"; fi
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 400); do alive "$pid" "$comm" || break; sleep 0.05; done
  if alive "$pid" "$comm"; then log "$name (pid $pid) still running after 20 s: SIGKILL"; kill -KILL "$pid"; fi
  rm -f "$OWNED/$name"
  # slurmctld/slurmdbd leave their pid file behind; a stale one confuses Debian's maintainer scripts
  [ -n "$pf" ] && [ "$(pidfrom "$pf")" = "$pid" ] && rm -f "$pf"
  log "$name (pid $pid) stopped"
}

# Cancel all jobs first so their slurmstepd and processes end with the cluster.
if alive "$(owned_pid slurmctld)" slurmctld; then
  jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for _ in $(seq 200); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.05; done
    log "cancelled jobs: $jobs"
  fi
fi

stop sshd sshd-alpine "$PF_SSHD"
for n in $NODES; do stop "slurmd-$n" slurmd "$(pf_slurmd "$n")"; done
stop slurmctld slurmctld "$PF_SLURMCTLD"
stop slurmdbd slurmdbd "$PF_SLURMDBD"
if [ "${PURGE:-0}" = 1 ]; then
  # the accounting DB must go with the slurmctld state, or job ids restart at 1 and sacct mixes runs
  if alive "$(pidfrom "$PF_MARIADB")" mariadbd; then
    mariadb -u root -e 'DROP DATABASE IF EXISTS slurm_acct_db' && log "dropped slurm_acct_db"
  elif [ -d /var/lib/mysql/slurm_acct_db ]; then
    log "mariadbd not running: start it (up.sh) and re-run PURGE=1 down.sh to drop slurm_acct_db"
  fi
fi
stop mariadbd mariadbd "$PF_MARIADB"
stop munged munged "$PF_MUNGE"

if [ "${PURGE:-0}" = 1 ]; then
  rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/* /var/lib/slurm/fakegpu /var/log/slurm/*
  rm -f /etc/slurm/slurm.conf /etc/slurm/gres.conf /etc/slurm/slurmdbd.conf /etc/slurm/job_submit.lua
  if id -u "$TEST_USER" >/dev/null 2>&1; then
    userdel -r "$TEST_USER" 2>/dev/null || log "userdel $TEST_USER failed (processes left? $(pgrep -u "$TEST_USER" | tr '\n' ' '))"
  fi
  rm -rf "${SCRATCH_ROOT:?}/$TEST_USER" "${SCRATCH_ROOT:?}/root" "${PROJECTS_ROOT:?}/$TEST_USER" "${PROJECTS_ROOT:?}/root"
  rmdir "$SCRATCH_ROOT" /scratch "$PROJECTS_ROOT" 2>/dev/null
  rm -rf "$MODULE_DIR/miniforge" "$MODULE_DIR/anaconda" "$CONDA_ENVS"
  rmdir /opt/alpine 2>/dev/null
  rm -f /etc/pam.d/sshd-alpine /usr/local/sbin/sshd-alpine
  rm -rf "$RUN"
  rmdir "$AKTC_DIR" 2>/dev/null
  log "purged generated state"
fi
log "down"
