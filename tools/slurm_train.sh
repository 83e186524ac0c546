#!/usr/bin/env bash
# Slurm training (as mmdet's tools/slurm_train.sh), pre-emptible and requeued.
#   [GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SIGNAL_SECONDS=180 SRUN_ARGS=...] \
#       bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args]
#   or submitted as a batch job (the #SBATCH lines below then apply; srun inherits the allocation):
#   sbatch -p PARTITION -N 1 --gres=gpu:8 --ntasks=8 tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR
#
# Pre-emption: srun asks slurm to send SIGUSR1 to every task SIGNAL_SECONDS (default 180) before
# the time limit; slurm's own pre-emption and scancel send SIGTERM. Both make PreemptionHook save
# a checkpoint at the next iteration boundary and exit with status 75. Inside a batch job this
# script then requeues the job (`scontrol requeue`; the job is requeueable: --requeue), and the
# requeued job, running the same command, resumes automatically from the work dir's
# last_checkpoint (tools/train.py sees work_dir/preempted.json). Outside a batch job (srun from a
# login node, which slurm cannot requeue) it says so; run the same command again to continue.
#SBATCH --requeue
#SBATCH --signal=USR1@180
#SBATCH --open-mode=append

set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SIGNAL_SECONDS=${SIGNAL_SECONDS:-180}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=${@:5}
PYTHON=${PYTHON:-python}
REQUEUE_EXIT_CODE=75  # focalnet_mm.engine.REQUEUE_EXIT_CODE

PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
srun -p ${PARTITION} \
    --job-name=${JOB_NAME} \
    --gres=gpu:${GPUS_PER_NODE} \
    --ntasks=${GPUS} \
    --ntasks-per-node=${GPUS_PER_NODE} \
    --cpus-per-task=${CPUS_PER_TASK} \
    --kill-on-bad-exit=1 \
    --signal=USR1@${SIGNAL_SECONDS} \
    ${SRUN_ARGS} \
    ${PYTHON} -u tools/train.py ${CONFIG} --work-dir=${WORK_DIR} --launcher="slurm" ${PY_ARGS}
STATUS=$?

if [[ $STATUS -eq $REQUEUE_EXIT_CODE ]]; then
  if [[ -n "$SLURM_JOB_ID" ]]; then  # inside a batch job: slurm reruns this script
    echo "pre-empted: checkpoint in ${WORK_DIR}; requeueing job ${SLURM_JOB_ID}"
    scontrol requeue "$SLURM_JOB_ID"
  else
    echo "pre-empted: checkpoint in ${WORK_DIR}; run the same command again to resume"
  fi
fi
exit $STATUS
