# common.sh - settings and helpers shared by up.sh, down.sh, verify.sh and capture-fixtures.sh.
# Sourced, not run. Everything can be overridden from the environment.

AKTC_DIR=${ALPINE_TEST_CLUSTER_DIR:-/tmp/alpine-kernel-test-cluster}
RUN=$AKTC_DIR/run            # env.sh, ssh keys/config, logs of daemons we start outside /var/log
OWNED=$RUN/owned             # one file per daemon up.sh started: its PID. down.sh stops only these.
TEST_USER=${TEST_USER:-alpineuser}
TEST_PASS=${TEST_PASS:-alpinepass}
SSH_PORT_KEY=${SSH_PORT_KEY:-2222}         # publickey only
SSH_PORT_2FA=${SSH_PORT_2FA:-2223}         # keyboard-interactive: "Password: " then "Passcode or option (1-1): "
SSH_PORT_KEY2FA=${SSH_PORT_KEY2FA:-2224}   # publickey AND keyboard-interactive
CLUSTER=alpine
ACCOUNTS="ucb-general amc-general"
DEFAULT_ACCOUNT=ucb-general
PARTITIONS="acpu amem aa100 acompile atesting"
CPU_NODE=${CPU_NODE:-c3cpu-a1-u1-1}
# A second CPU node, in atesting only (as on Alpine, the partition for multi-node tests): -N 2 cells
# and srun across nodes; the other CPU partitions keep one node, so their queues look as before.
CPU_NODE2=${CPU_NODE2:-c3cpu-a1-u1-2}
GPU_NODE=${GPU_NODE:-c3gpu-a1-u1-1}
NODES="$CPU_NODE $CPU_NODE2 $GPU_NODE"
NODE_CPUS=${NODE_CPUS:-8}
NODE_MEM_MB=${NODE_MEM_MB:-16000}
SCRATCH_ROOT=/scratch/alpine       # like Alpine: /scratch/alpine/$USER
PROJECTS_ROOT=/projects            # like Alpine: /projects/$USER
MODULE_DIR=/etc/lmod/modules       # already on Debian's default MODULEPATH (see up.sh for why)
CONDA_ENVS=/opt/alpine/conda-envs  # "conda" envs (python venvs) visible to every user
ENV_NAME=alpine-kernel             # the env cells run in
DBPASS=${DBPASS:-slurmdbpass}

# PID files the daemons write themselves
PF_MUNGE=/run/munge/munged.pid
PF_MARIADB=/run/mysqld/mysqld.pid
PF_SLURMDBD=/run/slurmdbd.pid
PF_SLURMCTLD=/run/slurmctld.pid
pf_slurmd() { echo "/run/slurmd-$1.pid"; }
PF_SSHD=$RUN/ssh/sshd.pid

pidfrom() { [ -s "$1" ] && tr -dc '0-9' <"$1" || true; }

# alive PID COMM : PID runs, is not a zombie (PID 1 here reaps late), and its command is COMM
# (guards against stale pid files and reused PIDs)
alive() {
  local p=${1:-} want=${2:-} st
  [ -n "$p" ] || return 1
  st=$(ps -o stat=,comm= -p "$p" 2>/dev/null) || return 1
  case "$st" in Z* | "") return 1 ;; esac
  [ -z "$want" ] || [ "${st##* }" = "$want" ]
}

# owned NAME : PID that up.sh recorded for daemon NAME, if that process is still the daemon
owned_pid() { pidfrom "$OWNED/$1"; }
record_owned() { mkdir -p "$OWNED"; echo "$2" >"$OWNED/$1"; }

# timestamps
now_ns() { date +%s%N; }
fmt_ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
