#!/bin/bash
# verify.sh - quick PASS/FAIL checks of the test cluster up.sh brought up. Run as root.
# Exits non-zero when any check fails. Takes ~10 s (the jobs run concurrently).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"
[ -r "$RUN/env.sh" ] || { echo "verify.sh: $RUN/env.sh missing: run up.sh first" >&2; exit 1; }
. "$RUN/env.sh"
[ "$(id -u)" = 0 ] || { echo "verify.sh: run as root" >&2; exit 1; }

T0=$(now_ns)
pass=0 fail=0
ok() { echo "PASS  $*"; pass=$((pass + 1)); }
ko() { echo "FAIL  $*"; fail=$((fail + 1)); }
# check DESCRIPTION CMD... : PASS when CMD succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else ko "$d"; fi; }
has() { [[ $1 == *"$2"* ]]; }
show() { sed 's/^/        /' <<<"$1"; }
SSH=(ssh -F "$ALPINE_TEST_SSH_CONFIG" -o BatchMode=yes -o LogLevel=ERROR)
U() { "${SSH[@]}" alpine-test-key "$@"; } # run as the test user, logged in with the key
state() { scontrol show job -o "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# wait_final JOB... : until no job is PENDING/RUNNING/COMPLETING (max 60 s)
wait_final() {
  local j s
  for _ in $(seq 600); do
    for j in "$@"; do s=$(state "$j"); case "$s" in PENDING | RUNNING | COMPLETING | CONFIGURING | "") continue 2 ;; esac; done
    return 0
  done
  return 1
}

UDIR=$ALPINE_TEST_SCRATCH/verify
RDIR=$ALPINE_TEST_SCRATCH_ROOT/root/verify
U "rm -rf ~/verify '$UDIR' && mkdir -p ~/verify '$UDIR'"
rm -rf "$RDIR" && mkdir -p "$RDIR"

# ---- a cell-like job script: login shell, module + conda, the cell's python imports
CELL='#!/bin/bash -l
module purge
module load miniforge
conda activate '"$ALPINE_TEST_ENV"'
echo "user=$(id -un) part=$SLURM_JOB_PARTITION acct=$SLURM_JOB_ACCOUNT env=$CONDA_DEFAULT_ENV python=$(command -v python)"
python -c "import IPython, dill, numpy, pandas, matplotlib; print(\"imports-ok\", IPython.__version__, numpy.__version__)"
'
# ---- submit everything first, then wait once
J_ROOT=$(sbatch --parsable -J verify-root -o "$RDIR/root-%j.out" <<<"$CELL") # root: no --account needed
J_USER=$(U "sbatch --parsable -A $ALPINE_TEST_ACCOUNT -J verify-user -o ~/verify/user-%j.out" <<<"$CELL")
J_USCR=$(U "sbatch --parsable -A amc-general -p atesting -J verify-scratch -o $UDIR/scratch-%j.out --wrap 'id -un; pwd'")
J_GPU=$(U "sbatch --parsable -A $ALPINE_TEST_ACCOUNT -p $ALPINE_TEST_GPU_PARTITION --gres=gpu:1 -o $UDIR/gpu-%j.out --wrap 'echo gpus=\$CUDA_VISIBLE_DEVICES node=\$SLURMD_NODENAME'")
J_OOM=$(U "sbatch --parsable -A $ALPINE_TEST_ACCOUNT --mem=100M -o $UDIR/oom-%j.out --wrap '/usr/bin/python3 -c \"import time; b=bytearray(400*2**20); time.sleep(30)\"'")
J_FAIL=$(U "sbatch --parsable -A $ALPINE_TEST_ACCOUNT -o /dev/null --wrap 'exit 3'")
echo "      submitted: root=$J_ROOT user=$J_USER scratch=$J_USCR gpu=$J_GPU oom=$J_OOM fail=$J_FAIL"
all_ids() { local j; for j in "$@"; do [[ $j =~ ^[0-9]+$ ]] || return 1; done; }
check "sbatch --parsable prints a bare job id (root, and $ALPINE_TEST_USER over ssh)" \
  all_ids "$J_ROOT" "$J_USER" "$J_USCR" "$J_GPU" "$J_OOM" "$J_FAIL"

# ---- refusals at submit time (while the jobs run)
refused() { # refused EXPECTED-TEXT SBATCH-ARGS : sbatch as the user fails and prints the text
  local out rc
  out=$(U "sbatch $2 -o /dev/null --wrap true" 2>&1); rc=$?
  [ "$rc" != 0 ] && has "$out" "$1" || { show "rc=$rc $out"; return 1; }
}
check "no --account refused" refused "you must specify an account" ""
check "--account=nosuch refused" refused "Invalid account" "-A nosuch"
check "GPU on acpu refused" refused "Requested node configuration is not available" "-A $ALPINE_TEST_ACCOUNT -p acpu --gres=gpu:1"
check "acompile --time=13:00:00 refused (MaxTime 12 h, EnforcePartLimits)" refused "Requested time limit is invalid" "-A $ALPINE_TEST_ACCOUNT -p acompile -t 13:00:00"
check "atesting --time=2:00:00 refused (MaxTime 1 h)" refused "Requested time limit is invalid" "-A $ALPINE_TEST_ACCOUNT -p atesting -t 2:00:00"
check "unknown partition refused" refused "invalid partition specified" "-A $ALPINE_TEST_ACCOUNT -p nosuch"

# ---- cluster shape
parts=$(sinfo -h -o '%P %l %G' | sort)
show "$parts"
check "partitions acpu(default) amem aa100 acompile atesting" \
  [ "$(sinfo -h -o %P | sort | tr '\n' ' ')" = 'aa100 acompile acpu* amem atesting ' ]
maxtime() { scontrol show partition "$1" | grep -o 'MaxTime=[^ ]*' | cut -d= -f2; }
check "acompile MaxTime 12 h, atesting 1 h" [ "$(maxtime acompile) $(maxtime atesting)" = "12:00:00 01:00:00" ]
check "aa100 node has gres gpu:a100:2" [ "$(sinfo -h -p aa100 -o %G)" = gpu:a100:2 ]
conf=$(scontrol show config)
conf_has() { grep -Eq "$1" <<<"$conf"; }
check "EnforcePartLimits=ALL" conf_has '^EnforcePartLimits += ALL'
check "JobAcctGatherParams=OverMemoryKill" conf_has '^JobAcctGatherParams += OverMemoryKill'
check "SchedulerParameters batch_sched_delay=0,bf_interval=2" conf_has '^SchedulerParameters += batch_sched_delay=0,bf_interval=2'
check "JobSubmitPlugins=lua" conf_has '^JobSubmitPlugins += (job_submit/)?lua'
assoc=$(sacctmgr -n -P show assoc user="$ALPINE_TEST_USER" format=account | sort | tr '\n' ' ')
check "$ALPINE_TEST_USER may charge ucb-general and amc-general ($assoc)" [ "$assoc" = "amc-general ucb-general " ]
check "root has associations (sacct works for its jobs)" [ -n "$(sacctmgr -n -P show assoc user=root format=account)" ]

# ---- ssh logins: key, password + TOTP (Duo-like prompts), key + password + TOTP, sftp
ASKPASS=$(mktemp); PROMPTS=$(mktemp)
cat >"$ASKPASS" <<EOF
#!/bin/bash
# OpenSSH's client shows a server prompt as "(user@host) PROMPT"; log the server's text
printf '%s\n' "\${1#(*) }" >>"$PROMPTS"
case "\${1#(*) }" in
  Password:*) echo "\${VERIFY_PASSWORD:-$ALPINE_TEST_PASSWORD}" ;;
  Passcode*) echo "\${VERIFY_CODE:-\$(oathtool --totp -b "\$(cat $ALPINE_TEST_TOTP_SECRET_FILE)")}" ;;
  *) exit 1 ;;
esac
EOF
chmod 755 "$ASKPASS"
kbd() { # kbd HOST-ALIAS [ssh options] : log in answering keyboard-interactive prompts through $ASKPASS
  local host=$1; shift
  SSH_ASKPASS=$ASKPASS SSH_ASKPASS_REQUIRE=force ssh -F "$ALPINE_TEST_SSH_CONFIG" -o BatchMode=no \
    -o LogLevel=QUIET -o NumberOfPasswordPrompts=1 "$@" "$host" 'id -un' </dev/null 2>/dev/null
}
logs_in() { [ "$(kbd "$@")" = "$ALPINE_TEST_USER" ]; }
not() { ! "$@"; }
check "port $ALPINE_TEST_PORT_KEY: key login" [ "$(U id -un)" = "$ALPINE_TEST_USER" ]
check "port $ALPINE_TEST_PORT_KEY: password refused" not logs_in alpine-test-key -o PubkeyAuthentication=no
check "port $ALPINE_TEST_PORT_2FA: Password + TOTP login" logs_in alpine-test-2fa
check "port $ALPINE_TEST_PORT_2FA: prompts 'Password: ' then 'Passcode or option (1-1): '" \
  [ "$(tr '\n' '|' <"$PROMPTS")" = 'Password: |Passcode or option (1-1): |' ]
check "port $ALPINE_TEST_PORT_2FA: wrong passcode refused" not env VERIFY_CODE=000000 bash -c "$(declare -f kbd logs_in); $(declare -p ASKPASS ALPINE_TEST_SSH_CONFIG ALPINE_TEST_USER); logs_in alpine-test-2fa"
check "port $ALPINE_TEST_PORT_KEY2FA: key + Password + TOTP login" logs_in alpine-test-key2fa
check "port $ALPINE_TEST_PORT_KEY2FA: Password + TOTP without the key refused" not logs_in alpine-test-key2fa -o PubkeyAuthentication=no -o IdentityFile=none
check "sftp subsystem" bash -c "sftp -F '$ALPINE_TEST_SSH_CONFIG' -b - alpine-test-key <<<'ls -1 verify' 2>/dev/null | grep -q verify"
rm -f "$ASKPASS" "$PROMPTS"

# ---- the jobs
wait_final "$J_ROOT" "$J_USER" "$J_USCR" "$J_GPU" "$J_OOM" "$J_FAIL" || ko "jobs did not finish within 60 s"
out=$(cat "$RDIR/root-$J_ROOT.out" 2>&1); show "$out"
cell_ok() { # cell_ok OUTPUT USER ACCOUNT
  has "$1" "user=$2 part=acpu acct=$3 env=$ALPINE_TEST_ENV python=$ALPINE_TEST_ENV_PYTHON" && has "$1" imports-ok
}
check "root job (no --account): module load miniforge, conda activate $ALPINE_TEST_ENV, import IPython, dill, numpy, pandas, matplotlib" \
  cell_ok "$out" root root
out=$(U "cat ~/verify/user-$J_USER.out" 2>&1); show "$out"
check "$ALPINE_TEST_USER job, output under ~: the same" cell_ok "$out" "$ALPINE_TEST_USER" "$ALPINE_TEST_ACCOUNT"
check "$ALPINE_TEST_USER job writes to $UDIR (file owned by the user)" \
  [ "$(head -1 "$UDIR/scratch-$J_USCR.out") $(stat -c %U "$UDIR/scratch-$J_USCR.out")" = "$ALPINE_TEST_USER $ALPINE_TEST_USER" ]
out=$(cat "$UDIR/gpu-$J_GPU.out" 2>&1); show "$out"
matches() { [[ $1 =~ $2 ]]; }
check "aa100 --gres=gpu:1 gets CUDA_VISIBLE_DEVICES on $ALPINE_TEST_GPU_NODE" matches "$out" "^gpus=[01] node=$ALPINE_TEST_GPU_NODE$"
oom=$(sacct -j "$J_OOM" -X -n -P --format=State,ExitCode)
check "OverMemoryKill: --mem=100M job using 400 MB ends FAILED 0:9 ($oom)" [ "$oom" = "FAILED|0:9" ]
check "OverMemoryKill: output says 'Exceeded job memory limit'" grep -q 'Exceeded job memory limit' "$UDIR/oom-$J_OOM.out"
sa=$(sacct -j "$J_ROOT,$J_USER,$J_FAIL" -X -n -P --format=JobID,User,Account,State,ExitCode); show "$sa"
check "sacct as root: users, accounts, states, exit codes" [ "$(tr '\n' ' ' <<<"$sa")" = \
  "$J_ROOT|root|root|COMPLETED|0:0 $J_USER|$ALPINE_TEST_USER|$ALPINE_TEST_ACCOUNT|COMPLETED|0:0 $J_FAIL|$ALPINE_TEST_USER|$ALPINE_TEST_ACCOUNT|FAILED|3:0 " ]
check "sacct as $ALPINE_TEST_USER over ssh" [ "$(U "sacct -j $J_FAIL -X -n -P --format=State")" = FAILED ]

echo "== $pass passed, $fail failed in $(fmt_ms $((($(now_ns) - T0) / 1000000))) s"
[ "$fail" = 0 ]
