# The focalnet_mm runtime of every mmdet/mmseg config, and how the FocalNet bases hand their
# settings over.
#
# Handing over: mmengine refuses a key that two bases of one config both define, and these bases
# stand beside an mmdet/mmseg base that defines the same keys (`train_pipeline`, `optim_wrapper`,
# `default_hooks`, ...). So each of them (this file, ./backbones.py, ./recipes/*.py, ./demo/*.py)
# defines a single key, `recipe`: named settings, mostly groups of top-level keys. A config that
# lists one of them takes that key out of its bases and spreads the groups it wants into its own
# namespace, where they merge over the mmdet/mmseg base as if written in the file:
#     __recipe = _base_.pop('recipe')
#     globals().update(**__recipe.runtime, **__recipe.adamw)
# Taken out, `recipe` is not part of the resolved config (nor are `__` names). Bases that build on
# each other merge their `recipe` groups as mmengine merges any key.
#
# `runtime`: what every focalnet-mm config adds to its mmdet/mmseg runtime:
# * `custom_imports`: focalnet_mm registers FocalNet and FocalTransformer (and these hooks);
# * RNGStateHook: the python/numpy/torch random generator states travel in the checkpoint, so
#   that `--resume` continues exactly as an uninterrupted run (bit-identical on CPU, tested), also
#   from a checkpoint taken in the middle of an epoch;
# * PreemptionHook: on SIGTERM/SIGUSR1 (slurm pre-emption, `--signal=USR1@T` before the time
#   limit) an atomic checkpoint at the next iteration boundary, `preempted.json` in the work dir,
#   exit status 75; tools/train.py then resumes automatically, tools/slurm_train.sh requeues;
# * DistLossAverageHook: distributed runs log the loss averaged over the ranks (mmengine: rank 0's);
# * AtomicCheckpointHook as the checkpoint hook: CheckpointHook + crash-safe saving (checkpoints
#   and `last_checkpoint` written atomically, outdated checkpoints removed only afterwards).
recipe = dict(
    runtime=dict(
        custom_imports=dict(imports=['focalnet_mm'], allow_failed_imports=False),
        custom_hooks=[
            dict(type='RNGStateHook'),
            dict(type='PreemptionHook'),
            dict(type='DistLossAverageHook'),
        ],
        default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook'))))
