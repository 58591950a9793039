#!/bin/bash
# capture-fixtures.sh - regenerate test/fixtures/slurm/ from the running test cluster: real output of
# squeue/sacct/scontrol/sinfo/sacctmgr and of sbatch's refusals, for the parsers' table-driven tests.
# Runs every command as the test user over ssh (as the kernel would). Takes ~1.5 min (a TIMEOUT
# needs -t 1 to expire). Needs an idle cluster: pending reasons depend on what else runs.
#   scripts/test-cluster/capture-fixtures.sh [OUTDIR]   (default test/fixtures/slurm)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"
. "$RUN/env.sh"
OUT=${1:-$(cd "$HERE/../.." && pwd)/test/fixtures/slurm}
mkdir -p "$OUT"
T0=$(now_ns)
log() { echo "[fixtures +$(fmt_ms $((($(now_ns) - T0) / 1000000)))s] $*"; }
U() { ssh -F "$ALPINE_TEST_SSH_CONFIG" -o BatchMode=yes -o LogLevel=ERROR alpine-test-key "$@"; }
D=$ALPINE_TEST_SCRATCH/fixtures # job output files
A=$ALPINE_TEST_ACCOUNT
sub() { U "sbatch --parsable -A $A $*"; }
save() { local f=$1; shift; U "$@" >"$OUT/$f"; log "$f"; }
state() { U "scontrol show job -o $1" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
wait_state() { # wait_state JOB STATE [SECONDS]
  local end=$(($(date +%s) + ${3:-30}))
  until [ "$(state "$1")" = "$2" ]; do [ "$(date +%s)" -lt "$end" ] || { echo "job $1 never reached $2" >&2; exit 1; }; sleep 0.2; done
}
SQ_O="%i|%j|%T|%r|%P|%M|%l|%N|%S|%C|%m|%b"
SQ_LONG="JobID:|,Name:|,State:|,Reason:|,Partition:|,TimeUsed:|,TimeLimit:|,NodeList:|,StartTime:|,NumCPUs:|,MinMemory:|,tres-per-node:|,tres-per-job:|,tres-alloc:|,Account:|,SubmitTime:|,STDOUT:"
SACCT="sacct --parsable2 --noheader --format=JobID,JobName,State,ExitCode,Elapsed,MaxRSS,ReqMem,Timelimit,NodeList,AllocTRES"

[ -z "$(squeue -h -o %i)" ] || { echo "capture-fixtures: the cluster is busy ($(squeue -h -o %i | tr '\n' ' ')); pending reasons would differ" >&2; exit 1; }
U "rm -rf $D && mkdir -p $D"

# ---- the TIMEOUT job first: -t 1 is enforced by a check that runs every ~30 s, so it ends at 60-90 s
J_TIMEOUT=$(sub -J cell-timeout -p atesting -t 1 -o "$D/timeout-%j.out" --wrap "'echo started; sleep 600'")
log "timeout job $J_TIMEOUT submitted"

# ---- a queue with running and pending jobs. CPU node: 8 CPUs = timeout(1) + running(4) + spaces(3)
J_RUN=$(sub -J cell-running -c 4 --mem=2G -t 30 -o /dev/null --wrap "'sleep 600'")
J_SPACES=$(sub -J "'cell 7: plot'" -c 3 -t 2:00:00 -o /dev/null --wrap "'sleep 600'")
J_GPU=$(sub -J cell-gpu -p aa100 --gres=gpu:1 -c 2 --mem=4G -t 1:00:00 -o /dev/null --wrap "'sleep 600'")
wait_state "$J_RUN" RUNNING; wait_state "$J_SPACES" RUNNING; wait_state "$J_GPU" RUNNING
J_RES=$(sub -J cell-pending-resources -c 4 -t 10 -o /dev/null --wrap "'sleep 60'")
# right after submission the scheduler may not have looked at the job yet: reason "None"
save squeue-o-just-submitted.txt "squeue --me -h -j $J_RES -o '$SQ_O'"
J_PRIO=$(sub -J cell-pending-priority -c 2 -t 10 -o /dev/null --wrap "'sleep 60'")
J_DEP=$(sub -J cell-dependency -t 10 --dependency=afterok:"$J_RUN" -o /dev/null --wrap true)
J_HELD=$(sub -J cell-held --hold -t 10 -o /dev/null --wrap true)
J_BEGIN=$(sub -J cell-begin --begin=now+1hour -t 10 -o /dev/null --wrap true)
J_GPU2=$(sub -J cell-gpu-pending -p aa100 --gpus=2 -t 10 -o /dev/null --wrap true)
# wait for the backfill pass (bf_interval=2) to give the pending jobs start estimates and reasons
for _ in $(seq 100); do
  s=$(U "squeue --me -h --start -j $J_RES -o %S")
  r=$(U "squeue --me -h -j $J_PRIO -o %r")
  [ "$s" != N/A ] && [ "$r" != None ] && break
  sleep 0.3
done
save squeue-o.txt "squeue --me -h -o '$SQ_O'"
save squeue-O-long.txt "squeue --me -h -O '$SQ_LONG'"
save squeue-default.txt "squeue --me"
save squeue-start.txt "squeue --me --start"
save squeue-start-o.txt "squeue --me --start -h -o '%i|%j|%T|%r|%S|%Y'"
save scontrol-show-job-running.txt "scontrol show job -o $J_RUN"
save scontrol-show-job-running-gpu.txt "scontrol show job -o $J_GPU"
save scontrol-show-job-pending.txt "scontrol show job -o $J_RES"
save scontrol-show-job-pending-held.txt "scontrol show job -o $J_HELD"
save sacct-running-pending.txt "$SACCT -j $J_RUN,$J_GPU,$J_RES,$J_HELD"

# ---- cancel: a pending job, then a running one (its dependant becomes DependencyNeverSatisfied)
U "scancel $J_RES"
U "scancel $J_RUN"
wait_state "$J_RUN" CANCELLED
for _ in $(seq 50); do [ "$(U "squeue -h -j $J_DEP -o %r")" = DependencyNeverSatisfied ] && break; sleep 0.2; done
save squeue-o-dependency-never-satisfied.txt "squeue --me -h -j $J_DEP -o '$SQ_O'"
U "scancel $J_SPACES $J_GPU $J_PRIO $J_DEP $J_HELD $J_BEGIN $J_GPU2"

# ---- jobs that end: COMPLETED, FAILED (exit 3), OverMemoryKill, CANCELLED while running, GPU
J_OK=$(sub -J cell-completed -o "$D/completed-%j.out" --wrap "'echo hello'")
J_FAIL=$(sub -J cell-failed -o "$D/failed-%j.out" --wrap "'echo about to fail; exit 3'")
J_OOM=$(sub -J cell-oom --mem=100M -o "$D/oom-%j.out" --wrap "'/usr/bin/python3 -c \"import time; b=bytearray(400*2**20); time.sleep(30)\"'")
J_GPUOK=$(sub -J cell-gpu-completed -p aa100 --gres=gpu:1 -o "$D/gpu-%j.out" --wrap "'echo CUDA_VISIBLE_DEVICES=\$CUDA_VISIBLE_DEVICES'")
J_CANCEL=$(sub -J cell-cancelled -o "$D/cancelled-%j.out" --wrap "'echo started; sleep 600'")
# billing: GPUs weighted (aa100), memory weighted with a fraction Slurm cuts down (amem: 3 + 7 x 0.25 = 4.75 -> 4)
J_BILL_GPU=$(sub -J cell-billing-gpu -p aa100 --gres=gpu:2 -c 2 -t 10 -o /dev/null --wrap "'sleep 2'")
J_BILL_MEM=$(sub -J cell-billing-amem -p amem -c 3 --mem=7G -t 10 -o /dev/null --wrap "'sleep 2'")
wait_state "$J_CANCEL" RUNNING
sleep 3 # let accounting sample the step once (MaxRSS)
U "scancel $J_CANCEL"
for j in $J_OK $J_FAIL $J_OOM $J_GPUOK $J_CANCEL $J_BILL_GPU $J_BILL_MEM; do
  for _ in $(seq 150); do case $(state "$j") in PENDING | RUNNING | COMPLETING) sleep 0.2 ;; *) break ;; esac; done
done
sleep 1 # the accounting record of a job is written just after it ends
save sacct-completed.txt "$SACCT -j $J_OK"
save sacct-failed-exit3.txt "$SACCT -j $J_FAIL"
save sacct-oom-overmemorykill.txt "$SACCT -j $J_OOM"
save sacct-gpu-completed.txt "$SACCT -j $J_GPUOK"
save sacct-cancelled-running.txt "$SACCT -j $J_CANCEL"
save sacct-cancelled-pending.txt "$SACCT -j $J_RES"
save sacct-billing-gpu.txt "$SACCT -j $J_BILL_GPU"
save sacct-billing-amem.txt "$SACCT -j $J_BILL_MEM"
save scontrol-show-job-failed.txt "scontrol show job -o $J_FAIL"
save job-output-oom.txt "cat $D/oom-$J_OOM.out"
save job-output-cancelled.txt "cat $D/cancelled-$J_CANCEL.out"

# ---- cluster description: partitions, limits, GPUs, associations
save scontrol-show-partition.txt "scontrol show partition -o"
save scontrol-show-config.txt "scontrol show config"
save sinfo-partitions.txt "sinfo -h -o '%R|%a|%l|%L|%D|%c|%m|%G|%T'"
save sinfo-summary.txt "sinfo -h -s -o '%R|%a|%l|%F|%G'"
save sinfo-nodes.txt "sinfo -h -N -o '%N|%R|%T|%c|%C|%m|%e|%G'"
save sinfo-default.txt "sinfo"
save sacctmgr-assoc.txt "sacctmgr show assoc user=$ALPINE_TEST_USER -P -n format=account,partition,qos"
save sacctmgr-assoc-long.txt "sacctmgr show assoc user=$ALPINE_TEST_USER -P format=cluster,account,user,partition,qos,defaultqos,maxwall,maxjobs,grptres"
save sacctmgr-user.txt "sacctmgr show user $ALPINE_TEST_USER -P -n format=user,defaultaccount"
save sacctmgr-qos.txt "sacctmgr show qos -P format=name,priority,maxwall,maxtresperuser,maxjobsperuser"

# ---- sbatch refusals: stderr exactly as printed; exit codes go to the README
refuse() { # refuse NAME SBATCH-ARGS
  local rc=0
  U "sbatch $2 -o /dev/null --wrap true" >/dev/null 2>"$OUT/sbatch-refused-$1.txt" || rc=$?
  log "sbatch-refused-$1.txt (exit $rc): sbatch $2"
}
refuse no-account ""
refuse bad-account "-A nosuch"
refuse bad-partition "-A $A -p nosuch"
refuse time-over-maxtime "-A $A -p acompile -t 13:00:00"
refuse gpu-on-acpu "-A $A -p acpu --gres=gpu:1"
refuse too-many-gpus "-A $A -p aa100 --gres=gpu:3"
refuse mem-too-large "-A $A --mem=100G"
refuse account-partition-typo "-A ucb-generl -p acpu"

# ---- the TIMEOUT job
log "waiting for the timeout job $J_TIMEOUT"
wait_state "$J_TIMEOUT" TIMEOUT 150
sleep 1
save sacct-timeout.txt "$SACCT -j $J_TIMEOUT"
save scontrol-show-job-timeout.txt "scontrol show job -o $J_TIMEOUT"
save job-output-timeout.txt "cat $D/timeout-$J_TIMEOUT.out"
all="$J_OK,$J_FAIL,$J_CANCEL,$J_RES,$J_TIMEOUT,$J_OOM,$J_GPUOK"
save sacct-end-states.txt "$SACCT -j $all"
save sacct-end-states-X.txt "$SACCT -X -j $all"
save squeue-o-finished.txt "squeue --me -h -t all -j $all -o '$SQ_O'"
log "job ids: timeout=$J_TIMEOUT running=$J_RUN spaces=$J_SPACES gpu=$J_GPU resources=$J_RES priority=$J_PRIO dep=$J_DEP held=$J_HELD begin=$J_BEGIN gpu2=$J_GPU2 ok=$J_OK fail=$J_FAIL oom=$J_OOM gpuok=$J_GPUOK cancel=$J_CANCEL"
log "done -> $OUT"
