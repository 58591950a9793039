#!/bin/bash
# up.sh - bring up, as root on one Debian 12 machine without systemd, a Slurm 22.05 test cluster
# that looks like CU Boulder's Alpine: slurmctld, three slurmd (two CPU nodes and a GPU node with fake
# A100s), slurmdbd + MariaDB accounting, munge, Alpine's partitions/accounts/policies, a non-root
# user reachable through a private sshd (key / password+TOTP / key+password+TOTP), and Lmod with a
# `miniforge` module whose `conda activate ENV` activates a python venv.
#
# Idempotent: whatever is already configured or running is left alone; a changed slurm.conf
# restarts the slurm daemons up.sh started. Prints a timeline. down.sh stops what this started.
#
#   scripts/test-cluster/up.sh
#   source /tmp/alpine-kernel-test-cluster/run/env.sh     # ALPINE_TEST_* for the test-suite
#
# Environment: ALPINE_TEST_CLUSTER_DIR (default /tmp/alpine-kernel-test-cluster), TEST_USER,
# TEST_PASS, SSH_PORT_KEY/SSH_PORT_2FA/SSH_PORT_KEY2FA, NODE_CPUS, NODE_MEM_MB,
# SKIP_APT=1 (fail instead of installing missing packages), SKIP_SMOKE=1.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"

T0=$(now_ns)
TIMELINE=()
LAST=$T0
elapsed_ms() { echo $((($(now_ns) - T0) / 1000000)); }
log() { echo "[up +$(fmt_ms "$(elapsed_ms)")s] $*"; }
# mark STEP : record how long the step that just ended took
mark() {
  local t; t=$(now_ns)
  TIMELINE+=("$(printf '%8ss  %7ss  %s' "$(fmt_ms $(((t - T0) / 1000000)))" "$(fmt_ms $(((t - LAST) / 1000000)))" "$1")")
  LAST=$t
}
die() { echo "up.sh: $*" >&2; exit 1; }
# wait_for SECONDS CMD... : poll CMD every 50 ms
wait_for() {
  local t=$1; shift
  local end=$(($(date +%s) + t))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || { echo "up.sh: timeout (${t}s) waiting for: $*" >&2; return 1; }
    sleep 0.05
  done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# put PATH MODE OWNER:GROUP <<content : write only when the content differs; sets CHANGED=1 then
CHANGED=0
put() {
  local path=$1 mode=$2 owner=$3 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if ! cmp -s "$tmp" "$path" 2>/dev/null; then
    install -D -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$tmp" "$path"
    CHANGED=1
  fi
  rm -f "$tmp"
}
# start_daemon NAME COMM PIDFILE CMD... : start CMD unless PIDFILE names a live COMM; record it as ours
start_daemon() {
  local name=$1 comm=$2 pf=$3; shift 3
  local pid; pid=$(pidfrom "$pf")
  if alive "$pid" "$comm"; then
    [ "$(owned_pid "$name")" = "$pid" ] || log "$name already running (pid $pid, not started by up.sh: down.sh will leave it)"
    return 0
  fi
  rm -f "$pf"
  "$@"
  wait_for 20 test -s "$pf" || die "$name did not write $pf"
  pid=$(pidfrom "$pf")
  record_owned "$name" "$pid"
  log "$name started (pid $pid)"
}
# stop_owned NAME COMM : stop a daemon up.sh started (used when its config changed)
stop_owned() {
  local pid; pid=$(owned_pid "$1")
  alive "$pid" "$2" || return 0
  kill -TERM "$pid"
  for _ in $(seq 200); do alive "$pid" "$2" || break; sleep 0.05; done
  if alive "$pid" "$2"; then kill -KILL "$pid"; fi
  rm -f "$OWNED/$1"
}

# stop_owned_all NAME:COMM... : stop_owned for several daemons at once (TERM to all, then wait)
stop_owned_all() {
  local item pids=() names=() comms=() i
  for item in "$@"; do
    local pid; pid=$(owned_pid "${item%%:*}")
    alive "$pid" "${item#*:}" || continue
    kill -TERM "$pid"; pids+=("$pid"); names+=("${item%%:*}"); comms+=("${item#*:}")
  done
  for _ in $(seq 200); do
    local left=0
    for i in "${!pids[@]}"; do if alive "${pids[$i]}" "${comms[$i]}"; then left=1; fi; done
    [ "$left" = 1 ] || break
    sleep 0.05
  done
  for i in "${!pids[@]}"; do
    if alive "${pids[$i]}" "${comms[$i]}"; then kill -KILL "${pids[$i]}"; fi
    rm -f "$OWNED/${names[$i]}"
  done
}

[ "$(id -u)" = 0 ] || die "run as root"
install -d -m 755 "$RUN" "$OWNED"
install -d -m 700 "$RUN/ssh"

# ---------------------------------------------------------------------------------------- packages
PKGS="slurm-wlm slurmctld slurmd slurm-client munge slurmdbd mariadb-server openssh-server
      openssh-client libpam-google-authenticator oathtool lmod python3-venv procps
      python3-ipython python3-dill python3-numpy python3-pandas python3-matplotlib python3-yaml"
# shellcheck disable=SC2086
status=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $PKGS 2>/dev/null || true)
missing=""
for p in $PKGS; do grep -qx "$p installed" <<<"$status" || missing="$missing $p"; done
if [ -n "${missing// /}" ]; then
  [ "${SKIP_APT:-0}" = 1 ] && die "missing packages: $missing"
  log "apt-get install $missing"
  export DEBIAN_FRONTEND=noninteractive
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then # keep postinsts from starting daemons through init.d
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # shellcheck disable=SC2086
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >"$RUN/apt.log" 2>&1 ||
    { tail -30 "$RUN/apt.log"; exit 1; }
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
mark "packages present"

# ------------------------------------------------- conda stand-in envs (built in the background)
# A real conda env is out of reach here; a venv over Debian's python with --system-site-packages
# gives cells IPython, dill, numpy, pandas and matplotlib. `python -m venv` takes ~1.8 s, so the
# envs are built while the daemons start.
install -d -m 755 "$CONDA_ENVS"
VENV_PIDS=()
for env in "$ENV_NAME" myenv; do
  if [ ! -x "$CONDA_ENVS/$env/bin/python" ]; then
    rm -rf "$CONDA_ENVS/$env"
    /usr/bin/python3 -m venv --system-site-packages "$CONDA_ENVS/$env" >"$RUN/venv-$env.log" 2>&1 &
    VENV_PIDS+=($!)
  fi
done

# --------------------------------------------------------------------------- munge + MariaDB
if [ ! -s /etc/munge/munge.key ]; then
  mungekey -c -k /etc/munge/munge.key 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 755 /run/munge
start_daemon munged munged "$PF_MUNGE" runuser -u munge -- /usr/sbin/munged

install -d -o mysql -g mysql -m 755 /run/mysqld
[ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$RUN/mariadb-install.log" 2>&1
# A throw-away test database: no fsync, no doublewrite (slurmdbd's first start creates ~40 tables).
start_mariadb() {
  setsid nohup /usr/sbin/mariadbd --user=mysql --pid-file="$PF_MARIADB" --bind-address=127.0.0.1 \
    --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 \
    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --innodb-flush-method=nosync \
    >"$RUN/mariadbd.log" 2>&1 &
}
start_daemon mariadbd mariadbd "$PF_MARIADB" start_mariadb
wait_for 10 sh -c 'munge -n | unmunge' || die "munge does not work"
wait_for 60 mariadb-admin ping || die "mariadbd does not answer"
mariadb -u root <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DBPASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
SQL
mark "munged + mariadbd"

# --------------------------------------------------------------------------- slurm config
install -d -o slurm -g slurm -m 755 /var/lib/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
for n in $NODES; do install -d -m 755 "/var/lib/slurm/slurmd/$n"; done
# gres/gpu needs File= to be a device: char 1,3 is /dev/null's device, so the "GPUs" are harmless.
install -d -m 755 /var/lib/slurm/fakegpu
for i in 0 1; do
  [ -c /var/lib/slurm/fakegpu/nvidia$i ] || { rm -f /var/lib/slurm/fakegpu/nvidia$i; mknod -m 666 /var/lib/slurm/fakegpu/nvidia$i c 1 3; }
done
HOST=$(hostname -s)
CHANGED=0
# Billing weights like Alpine's (service units = billing x hours): a core-hour is 1 SU, an A100
# GPU-hour ~108 SU; amem also weighs memory (0.25 SU per GB-hour), the variant that needs the
# partition's DefMemPerCPU to estimate.
# Partition lines alone changed (billing weights, limits): `scontrol reconfigure` applies them
# without restarting the daemons under the jobs other test-suites are running.
OLD_NONPART=$(grep -v '^PartitionName=' /etc/slurm/slurm.conf 2>/dev/null || true)
put /etc/slurm/slurm.conf 644 root:root <<EOF
# Test cluster that looks like CU Boulder's Alpine (generated by alpine-kernel scripts/test-cluster/up.sh)
ClusterName=$CLUSTER
SlurmctldHost=localhost
AuthType=auth/munge
CredType=cred/munge
SlurmUser=slurm
SlurmdUser=root
SlurmctldPort=6817
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd/%n
SlurmctldPidFile=$PF_SLURMCTLD
SlurmdPidFile=/run/slurmd-%n.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
# no cgroups and no systemd here (Alpine uses cgroups: there an over-memory job ends OUT_OF_MEMORY)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
# nodes advertise more CPUs/memory than this machine has
SlurmdParameters=config_overrides
# scheduling: a test cluster that reacts fast (default batch_sched_delay=3 s; bf_interval=30 s)
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,bf_interval=2
# Alpine policy: --account required (job_submit.lua); partition limits checked at submit time
JobSubmitPlugins=lua
EnforcePartLimits=ALL
MinJobAge=300
KillWait=5
InactiveLimit=0
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=30
ReturnToService=2
# accounting: sacct, MaxRSS, --mem enforcement without cgroups
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStorageEnforce=associations,limits,qos
AccountingStorageTRES=gres/gpu
JobCompType=jobcomp/none
# two node daemons on this host (slurmd -N NAME), each on its own port
GresTypes=gpu
NodeName=$CPU_NODE NodeHostname=$HOST NodeAddr=127.0.0.1 Port=17001 CPUs=$NODE_CPUS RealMemory=$NODE_MEM_MB State=UNKNOWN
NodeName=$CPU_NODE2 NodeHostname=$HOST NodeAddr=127.0.0.1 Port=17003 CPUs=$NODE_CPUS RealMemory=$NODE_MEM_MB State=UNKNOWN
NodeName=$GPU_NODE NodeHostname=$HOST NodeAddr=127.0.0.1 Port=17002 CPUs=$NODE_CPUS RealMemory=$NODE_MEM_MB Gres=gpu:a100:2 State=UNKNOWN
PartitionName=acpu     Nodes=$CPU_NODE Default=YES DefMemPerCPU=1000 DefaultTime=01:00:00 MaxTime=1-00:00:00 State=UP TRESBillingWeights=CPU=1.0
PartitionName=amem     Nodes=$CPU_NODE Default=NO  DefMemPerCPU=2000 DefaultTime=01:00:00 MaxTime=7-00:00:00 State=UP TRESBillingWeights=CPU=1.0,Mem=0.25G
PartitionName=aa100    Nodes=$GPU_NODE Default=NO  DefMemPerCPU=1000 DefaultTime=01:00:00 MaxTime=1-00:00:00 State=UP TRESBillingWeights=CPU=1.0,GRES/gpu=108.2
PartitionName=acompile Nodes=$CPU_NODE Default=NO  DefMemPerCPU=1000 DefaultTime=01:00:00 MaxTime=12:00:00   State=UP TRESBillingWeights=CPU=1.0
PartitionName=atesting Nodes=$CPU_NODE,$CPU_NODE2 Default=NO  DefMemPerCPU=1000 DefaultTime=00:30:00 MaxTime=01:00:00   State=UP TRESBillingWeights=CPU=1.0
EOF
put /etc/slurm/gres.conf 644 root:root <<EOF
AutoDetect=off
NodeName=$GPU_NODE Name=gpu Type=a100 File=/var/lib/slurm/fakegpu/nvidia[0-1]
EOF
put /etc/slurm/job_submit.lua 644 root:root <<'EOF'
-- Alpine policy: every job of a non-root user must name an account (--account / -A).
function slurm_job_submit(job_desc, part_list, submit_uid)
   if submit_uid ~= 0 and (job_desc.account == nil or job_desc.account == '') then
      slurm.log_user("Alpine policy: you must specify an account with --account=<name>")
      return slurm.ESLURM_INVALID_ACCOUNT or slurm.ERROR
   end
   return slurm.SUCCESS
end
function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
   return slurm.SUCCESS
end
return slurm.SUCCESS
EOF
SLURM_CHANGED=$CHANGED
PARTITIONS_ONLY=0
if [ "$SLURM_CHANGED" = 1 ] && [ "$OLD_NONPART" = "$(grep -v '^PartitionName=' /etc/slurm/slurm.conf)" ]; then
  PARTITIONS_ONLY=1
fi
CHANGED=0
put /etc/slurm/slurmdbd.conf 600 slurm:slurm <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=slurm
DebugLevel=info
LogFile=/var/log/slurm/slurmdbd.log
PidFile=$PF_SLURMDBD
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=slurm
StoragePass=$DBPASS
StorageLoc=slurm_acct_db
EOF
DBD_CHANGED=$CHANGED
mark "slurm config"

# --------------------------------------------------------------------------- slurmdbd + associations
if [ "$DBD_CHANGED" = 1 ]; then stop_owned slurmdbd slurmdbd; fi
start_daemon slurmdbd slurmdbd "$PF_SLURMDBD" /usr/sbin/slurmdbd
wait_for 60 port_open 6819 || die "slurmdbd does not listen on 6819 (see /var/log/slurm/slurmdbd.log)"
mark "slurmdbd"

id -u "$TEST_USER" >/dev/null 2>&1 || { useradd -m -s /bin/bash "$TEST_USER"; rm -f "$RUN/.password-set"; }
# Cluster, accounts and users in one `sacctmgr load` (each sacctmgr add costs ~0.5 s; load adds only
# what is missing). root keeps DefaultAccount=root and needs no --account (job_submit.lua lets uid 0
# through), but may charge the Alpine accounts; its association is what makes sacct work for it.
assoc() { ASSOC=$(sacctmgr -n -P show assoc format=cluster,account,user 2>/dev/null); }
wait_for 60 assoc || die "sacctmgr cannot reach slurmdbd"
need=0
for a in $ACCOUNTS; do for u in "" "$TEST_USER" root; do grep -qx "$CLUSTER|$a|$u" <<<"$ASSOC" || need=1; done; done
if [ "$need" = 1 ]; then
  {
    echo "Cluster - '$CLUSTER'"
    echo "Parent - 'root'"
    for a in $ACCOUNTS; do echo "Account - '$a':Description='test allocation $a':Organization='curc'"; done
    for a in $ACCOUNTS; do
      echo "Parent - '$a'"
      echo "User - '$TEST_USER':DefaultAccount='$DEFAULT_ACCOUNT'"
      echo "User - 'root':DefaultAccount='root'"
    done
  } >"$RUN/associations.cfg"
  sacctmgr -i load file="$RUN/associations.cfg" >"$RUN/sacctmgr-load.log" 2>&1 || { cat "$RUN/sacctmgr-load.log"; die "sacctmgr load failed"; }
fi
mark "accounts + associations"

# --------------------------------------------------------------------------- slurmctld + 2 x slurmd
if [ "$SLURM_CHANGED" = 1 ] && [ "$PARTITIONS_ONLY" = 1 ] && alive "$(pidfrom "$PF_SLURMCTLD")" slurmctld &&
  scontrol reconfigure >/dev/null 2>&1; then
  log "slurm.conf partitions changed -> scontrol reconfigure (daemons and jobs left running)"
  SLURM_CHANGED=0
fi
if [ "$SLURM_CHANGED" = 1 ] && alive "$(pidfrom "$PF_SLURMCTLD")" slurmctld; then
  log "slurm.conf changed -> restarting the slurm daemons up.sh started"
  # All at once: other users' jobs keep running (slurmstepd outlives slurmd, slurmctld keeps its
  # state), and their squeue/sbatch calls see slurmctld gone for about a second, not for one
  # daemon's shutdown after another.
  stop_owned_all slurmctld:slurmctld $(for n in $NODES; do echo "slurmd-$n:slurmd"; done)
  alive "$(pidfrom "$PF_SLURMCTLD")" slurmctld && die "slurmctld (not started by up.sh) runs with an old slurm.conf"
fi
start_daemon slurmctld slurmctld "$PF_SLURMCTLD" /usr/sbin/slurmctld
for n in $NODES; do start_daemon "slurmd-$n" slurmd "$(pf_slurmd "$n")" /usr/sbin/slurmd -N "$n"; done
# slurm clients sleep 1 s between retries while slurmctld is not listening: wait for the port first
wait_for 30 port_open 6817 || die "slurmctld does not listen (see /var/log/slurm/slurmctld.log)"
nodes_up() {
  local s
  s=$(sinfo -h -N -o '%N %T' 2>/dev/null | sort -u)
  for n in $NODES; do grep -qE "^$n (idle|mixed|allocated|completing)" <<<"$s" || return 1; done
}
if ! wait_for 20 nodes_up; then
  for n in $NODES; do scontrol update nodename="$n" state=resume 2>/dev/null || true; done
  wait_for 20 nodes_up || die "nodes not up: $(sinfo -N -h -o '%N %T %E' | sort -u | tr '\n' ';')"
fi
mark "slurmctld + slurmd up ($(sinfo -h -N -o '%N=%T' | sort -u | tr '\n' ' '))"

# --------------------------------------------------------------------------- user, dirs, credentials
if [ ! -e "$RUN/.password-set" ]; then echo "$TEST_USER:$TEST_PASS" | chpasswd; touch "$RUN/.password-set"; fi
# Alpine-like storage: /scratch/alpine/$USER and /projects/$USER, owned by the user (root too: the
# kernel's test-suite also runs the server as root with the local transport)
install -d -m 755 "$SCRATCH_ROOT" "$PROJECTS_ROOT"
for u in "$TEST_USER" root; do
  install -d -m 700 -o "$u" -g "$u" "$SCRATCH_ROOT/$u" "$PROJECTS_ROOT/$u"
done
[ -f "$RUN/ssh/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "$TEST_USER@alpine-test" -f "$RUN/ssh/client_ed25519"
UHOME=$(getent passwd "$TEST_USER" | cut -d: -f6)
install -d -m 700 -o "$TEST_USER" -g "$TEST_USER" "$UHOME/.ssh"
cmp -s "$RUN/ssh/client_ed25519.pub" "$UHOME/.ssh/authorized_keys" ||
  install -m 600 -o "$TEST_USER" -g "$TEST_USER" "$RUN/ssh/client_ed25519.pub" "$UHOME/.ssh/authorized_keys"
GA=$UHOME/.google_authenticator
if [ ! -s "$GA" ]; then
  # -D: a code may be reused and -u: no rate limit (test-suites log in several times per 30 s)
  runuser -u "$TEST_USER" -- google-authenticator -t -D -u -f -C -q -w 3 -Q NONE -e 0 -s "$GA"
fi
head -1 "$GA" >"$RUN/ssh/totp.secret"; chmod 600 "$RUN/ssh/totp.secret"
mark "user $TEST_USER, key, TOTP, scratch dirs"

# --------------------------------------------------------------------------- sshd on 127.0.0.1
[ -f "$RUN/ssh/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C alpine-test-host -f "$RUN/ssh/ssh_host_ed25519_key"
install -d -m 755 /run/sshd
# PAM's service name is the program name: this link makes sshd use /etc/pam.d/sshd-alpine
ln -sfn /usr/sbin/sshd /usr/local/sbin/sshd-alpine
CHANGED=0
put /etc/pam.d/sshd-alpine 644 root:root <<'EOF'
# alpine-kernel test sshd: password, then a Duo-like one-time passcode (TOTP)
auth     required  pam_unix.so
auth     required  pam_google_authenticator.so [authtok_prompt=Passcode or option (1-1): ]
account  required  pam_unix.so
session  required  pam_unix.so
EOF
put "$RUN/ssh/sshd_config" 644 root:root <<EOF
# all paths absolute: sshd re-executes itself for every connection
Port $SSH_PORT_KEY
Port $SSH_PORT_2FA
Port $SSH_PORT_KEY2FA
ListenAddress 127.0.0.1
HostKey $RUN/ssh/ssh_host_ed25519_key
PidFile $PF_SSHD
UsePAM yes
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication yes
PermitRootLogin no
AllowUsers $TEST_USER
AuthorizedKeysFile .ssh/authorized_keys
PrintMotd no
UseDNS no
LogLevel VERBOSE
MaxStartups 100:30:200
# OpenSSH's default, spelled out: one connection carries at most 10 channels (exec + sftp) at a time
MaxSessions 10
Subsystem sftp /usr/lib/openssh/sftp-server
AuthenticationMethods publickey
Match LocalPort $SSH_PORT_2FA
    AuthenticationMethods keyboard-interactive
Match LocalPort $SSH_PORT_KEY2FA
    AuthenticationMethods publickey,keyboard-interactive
EOF
SSHD_CHANGED=$CHANGED
if [ "$SSHD_CHANGED" = 1 ]; then stop_owned sshd sshd-alpine; fi
start_sshd() {
  /usr/sbin/sshd -t -f "$RUN/ssh/sshd_config"
  setsid nohup /usr/local/sbin/sshd-alpine -D -E "$RUN/ssh/sshd.log" -f "$RUN/ssh/sshd_config" >/dev/null 2>&1 &
}
start_daemon sshd sshd-alpine "$PF_SSHD" start_sshd
for p in $SSH_PORT_KEY $SSH_PORT_2FA $SSH_PORT_KEY2FA; do wait_for 10 port_open "$p" || die "sshd not listening on $p"; done
# client-side files for the test-suite: known_hosts and an ssh config with one Host per port
HOSTKEY=$(cut -d' ' -f1,2 "$RUN/ssh/ssh_host_ed25519_key.pub")
for p in $SSH_PORT_KEY $SSH_PORT_2FA $SSH_PORT_KEY2FA; do echo "[127.0.0.1]:$p $HOSTKEY"; done | put "$RUN/ssh/known_hosts" 644 root:root
put "$RUN/ssh/config" 644 root:root <<EOF
# ssh -F $RUN/ssh/config alpine-test-key true
Host alpine-test-key alpine-test-2fa alpine-test-key2fa
    HostName 127.0.0.1
    User $TEST_USER
    UserKnownHostsFile $RUN/ssh/known_hosts
    StrictHostKeyChecking yes
Host alpine-test-key
    Port $SSH_PORT_KEY
    IdentityFile $RUN/ssh/client_ed25519
    IdentitiesOnly yes
Host alpine-test-2fa
    Port $SSH_PORT_2FA
    PubkeyAuthentication no
    PreferredAuthentications keyboard-interactive
Host alpine-test-key2fa
    Port $SSH_PORT_KEY2FA
    IdentityFile $RUN/ssh/client_ed25519
    IdentitiesOnly yes
EOF
mark "sshd :$SSH_PORT_KEY/:$SSH_PORT_2FA/:$SSH_PORT_KEY2FA"

# --------------------------------------------------------------------------- Lmod miniforge stand-in
# The modulefile goes in /etc/lmod/modules, a directory on Debian's default MODULEPATH: a job
# inherits the submitter's environment, and Lmod's profile script does not rebuild MODULEPATH when
# MODULEPATH_ROOT is already set, so a new directory in /etc/lmod/modulespath would be missed by
# shells started before up.sh ran.
CHANGED=0
put "$MODULE_DIR/miniforge/24.11.3.lua" 644 root:root <"$HERE/miniforge-modulefile.lua"
put "$MODULE_DIR/anaconda/2023.09.lua" 644 root:root <"$HERE/miniforge-modulefile.lua"
put /opt/alpine/conda-standin/conda_env.py 755 root:root <"$HERE/conda-env-standin.py"
for pid in "${VENV_PIDS[@]}"; do wait "$pid" || die "python -m venv failed (see $RUN/venv-*.log)"; done
mark "Lmod miniforge + envs $ENV_NAME, myenv"

# --------------------------------------------------------------------------- nvidia-smi stand-in
# Job scripts on Alpine's GPU nodes call nvidia-smi; the fake GPUs here have no driver. This one
# lists the GPUs Slurm gave the job (CUDA_VISIBLE_DEVICES), and none elsewhere, as the real one does.
put /usr/local/bin/nvidia-smi 755 root:root <<'SMI'
#!/bin/bash
# nvidia-smi stand-in of the alpine-kernel test cluster (scripts/test-cluster/up.sh)
if [ -z "${CUDA_VISIBLE_DEVICES:-}" ]; then echo "No devices were found"; exit 6; fi
IFS=, read -ra gpus <<<"$CUDA_VISIBLE_DEVICES"
if [ "${1:-}" = -L ]; then
  for i in "${!gpus[@]}"; do echo "GPU $i: NVIDIA A100-PCIE-40GB (UUID: GPU-alpine-test-${gpus[$i]})"; done
  exit 0
fi
echo "+-----------------------------------------------------------------------------+"
echo "| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2      |"
echo "|-------------------------------+----------------------+----------------------+"
for i in "${!gpus[@]}"; do
  printf '|   %d  NVIDIA A100-PCIE-40GB  | 00000000:%02X:00.0 Off |                    0 |\n' "$i" "$((0x3b + gpus[i]))"
done
echo "+-----------------------------------------------------------------------------+"
SMI
mark "nvidia-smi stand-in"

# --------------------------------------------------------------------------- env.sh
put "$RUN/env.sh" 644 root:root <<EOF
# alpine-kernel test cluster (scripts/test-cluster/up.sh). source this file.
export ALPINE_TEST_CLUSTER_DIR=$AKTC_DIR
export ALPINE_TEST_HOST=127.0.0.1
export ALPINE_TEST_USER=$TEST_USER
export ALPINE_TEST_PASSWORD=$TEST_PASS
export ALPINE_TEST_KEY=$RUN/ssh/client_ed25519
export ALPINE_TEST_TOTP_SECRET_FILE=$RUN/ssh/totp.secret   # code: oathtool --totp -b "\$(cat \$ALPINE_TEST_TOTP_SECRET_FILE)"
export ALPINE_TEST_PORT_KEY=$SSH_PORT_KEY                   # publickey only
export ALPINE_TEST_PORT_2FA=$SSH_PORT_2FA                   # keyboard-interactive: "Password: " then "Passcode or option (1-1): "
export ALPINE_TEST_PORT_KEY2FA=$SSH_PORT_KEY2FA             # publickey, then the same keyboard-interactive
export ALPINE_TEST_KNOWN_HOSTS=$RUN/ssh/known_hosts
export ALPINE_TEST_HOST_KEY="$HOSTKEY"
export ALPINE_TEST_SSH_CONFIG=$RUN/ssh/config               # Hosts alpine-test-key, alpine-test-2fa, alpine-test-key2fa
export ALPINE_TEST_CLUSTER_NAME=$CLUSTER
export ALPINE_TEST_ACCOUNT=$DEFAULT_ACCOUNT
export ALPINE_TEST_ACCOUNTS="$ACCOUNTS"
export ALPINE_TEST_PARTITIONS="$PARTITIONS"
export ALPINE_TEST_DEFAULT_PARTITION=acpu
export ALPINE_TEST_GPU_PARTITION=aa100
export ALPINE_TEST_CPU_NODE=$CPU_NODE
export ALPINE_TEST_CPU_NODE2=$CPU_NODE2                     # in atesting only, with $CPU_NODE
export ALPINE_TEST_MULTINODE_PARTITION=atesting            # the partition whose jobs may span two CPU nodes
export ALPINE_TEST_GPU_NODE=$GPU_NODE
export ALPINE_TEST_SCRATCH_ROOT=$SCRATCH_ROOT              # per-user dirs: $SCRATCH_ROOT/\$USER (alpineuser and root exist)
export ALPINE_TEST_SCRATCH=$SCRATCH_ROOT/$TEST_USER
export ALPINE_TEST_HOME=$UHOME
export ALPINE_TEST_MODULE=miniforge
export ALPINE_TEST_ENV=$ENV_NAME
export ALPINE_TEST_ENV_PREFIX=$CONDA_ENVS/$ENV_NAME
export ALPINE_TEST_ENV_PYTHON=$CONDA_ENVS/$ENV_NAME/bin/python
EOF
mark "env.sh"

# --------------------------------------------------------------------------- smoke test
if [ "${SKIP_SMOKE:-0}" != 1 ]; then
  # smoke ARGS : the script that submits `true` with ARGS and waits until it is COMPLETED
  smoke() {
    cat <<EOF
j=\$(sbatch --parsable $1 -p atesting -t 1 -o /dev/null --wrap true) || exit 1
for i in \$(seq 200); do
  case \$(scontrol show job -o \$j | grep -o "JobState=[A-Z_]*") in
    JobState=COMPLETED) echo ok; exit 0 ;; JobState=FAILED|JobState=CANCELLED) exit 1 ;; esac
  sleep 0.05
done; exit 1
EOF
  }
  smoke_user=$(smoke "-A $DEFAULT_ACCOUNT")
  smoke_root=$(smoke "")
  ( ssh -F "$RUN/ssh/config" -o BatchMode=yes -o LogLevel=ERROR alpine-test-key "$smoke_user" >"$RUN/smoke-user.out" 2>&1 ) &
  sp=$!
  r=$(bash -c "$smoke_root" 2>&1) || true
  wait "$sp" || true
  [ "$r" = ok ] || die "smoke test as root failed: $r"
  [ "$(cat "$RUN/smoke-user.out")" = ok ] || die "smoke test as $TEST_USER over ssh failed: $(cat "$RUN/smoke-user.out")"
  mark "smoke: sbatch -> COMPLETED as root and as $TEST_USER (ssh)"
fi

echo "---- timeline (since start / step) ----"
printf '%s\n' "${TIMELINE[@]}"
log "UP. source $RUN/env.sh   |   verify: $HERE/verify.sh   |   stop: $HERE/down.sh"
