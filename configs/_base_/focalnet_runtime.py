# Training hooks of focalnet_mm (focalnet_mm.engine, docs/robustness.md), a base of every root
# config beside its mmdet/mmseg base:
# * RNGStateHook: the python/numpy/torch random generator states travel in the checkpoint, so
#   that `--resume` continues exactly as an uninterrupted run (bit-identical on CPU, tested), also
#   from a checkpoint taken in the middle of an epoch;
# * PreemptionHook: on SIGTERM/SIGUSR1 (slurm pre-emption, `--signal=USR1@T` before the time
#   limit) an atomic checkpoint at the next iteration boundary, `preempted.json` in the work dir,
#   exit status 75; tools/train.py then resumes automatically, tools/slurm_train.sh requeues;
# * DistLossAverageHook: distributed runs log the loss averaged over the ranks (mmengine: rank 0's).
# The root configs also set `default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))`
# (CheckpointHook + crash-safe saving: checkpoints and `last_checkpoint` written atomically,
# outdated checkpoints removed only afterwards); mmengine refuses a `default_hooks` key here, as
# their mmdet/mmseg base defines it too.
custom_hooks = [dict(type='RNGStateHook'), dict(type='PreemptionHook'),
                dict(type='DistLossAverageHook')]
