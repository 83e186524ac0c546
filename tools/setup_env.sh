#!/usr/bin/env bash
# Idempotent set-up of .venv: torch, mmcv (compiled ops, built once and cached), mm* stack, focalnet_mm.
# Re-running it does nothing when the stamp matches the pins; the mmcv wheel is reused from
# $FOCALNET_MM_CACHE (default ~/.cache/focalnet-mm) so only the first set-up on a machine builds it.
#
# Every version comes from requirements/ (stack.txt: the .venv; no-deps.txt: installed without
# their declared dependencies; transformers-*.txt: the side environments the tests use to check
# that HF transformers does not break the stack). To bump a version: edit the pin there and run
# `make setup` (the pins are hashed into the stamp, so the next run re-installs); then `make test`.
#
# Environment: PYTHON (interpreter for a new .venv, default python3), FOCALNET_MM_CACHE,
# MAX_JOBS (mmcv build jobs, default: all cores), FORCE_CUDA=1 (build mmcv's CUDA ops),
# FOCALNET_MM_SIDE_ENVS=0 (skip the transformers side environments).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY=$VENV/bin/python
PINS=$ROOT/requirements/stack.txt
NO_DEPS=$ROOT/requirements/no-deps.txt  # packages whose declared dependencies are wrong
CACHE=${FOCALNET_MM_CACHE:-$HOME/.cache/focalnet-mm}
STAMP=$VENV/.focalnet-mm-stamp
# Python versions the pinned stack supports: torch 2.14 needs >= 3.10; 3.11 is the one tested.
PY_MIN=3.10 PY_MAX=3.12
pin() { grep -E "^$1==" "$PINS" | head -1 | cut -d= -f3; }
MMCV_VERSION=$(pin mmcv)
TORCH_VERSION=$(pin torch)
want=$(cat "$PINS" "$NO_DEPS" setup.cfg 2>/dev/null | sha1sum | cut -c1-16)
t0=$SECONDS
step() { echo "[setup] ($((SECONDS - t0)) s) $*"; }

check_python() {  # $1: interpreter; exits with a clear message if its version is unsupported
  local v
  v=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || {
    echo "[setup] error: cannot run Python interpreter '$1' (set PYTHON=/path/to/python3.11)" >&2; exit 2; }
  if ! "$1" -c "import sys; lo, hi = [tuple(map(int, s.split('.'))) for s in ('$PY_MIN', '$PY_MAX')]
sys.exit(not lo <= sys.version_info[:2] <= hi)"; then
    echo "[setup] error: Python $v ($1) is not supported: the pinned stack (torch $TORCH_VERSION," \
         "mmcv $MMCV_VERSION, mmdet/mmseg/mmpretrain) needs Python $PY_MIN-$PY_MAX (tested: 3.11)." >&2
    echo "[setup] Install one and run: PYTHON=python3.11 make setup (an existing .venv of another" \
         "Python must be removed first: rm -rf .venv)" >&2
    exit 2
  fi
}

# Side environments (site dirs put first on PYTHONPATH by tests/test_environments.py): HF
# transformers 4.57 / 5.x with exactly the packages a `pip install transformers` adds to this
# stack. Idempotent: a folder is (re)made only when its pin file changed.
side_envs() {
  [[ ${FOCALNET_MM_SIDE_ENVS:-1} == 0 ]] && return 0
  local req name dir key
  for req in "$ROOT"/requirements/transformers-*.txt; do
    [[ -f $req ]] || continue
    name=$(basename "$req" .txt)
    key=$(sha1sum "$req" | cut -c1-16)
    dir=$CACHE/side/$name-$key
    [[ -f $dir/.complete ]] && continue
    step "side environment $name -> $dir"
    rm -rf "$dir" && mkdir -p "$dir"
    pip_ install --no-deps --target "$dir" -r "$req"
    touch "$dir/.complete"
  done
}

# pip, without the noise of this machine's local-index warnings
pip_() { "$PY" -m pip --disable-pip-version-check -q "$@" 2>&1 | { grep -v "WARNING: Location" || true; }
         return "${PIPESTATUS[0]}"; }

if [[ -x $PY ]]; then check_python "$PY"; fi
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]] && "$PY" -c "import mmcv.ops, focalnet_mm" 2>/dev/null; then
  side_envs
  echo "[setup] .venv is up to date"; exit 0
fi
if [[ ! -x $PY ]]; then
  check_python "${PYTHON:-python3}"
  step "creating .venv with $("${PYTHON:-python3}" --version 2>&1)"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
step "1/5 torch $TORCH_VERSION + torchvision $(pin torchvision) (~2.5 GB download on a new machine)"
pip_ install "torch==$TORCH_VERSION" "torchvision==$(pin torchvision)"
# A compiled mmcv only fits the torch, Python and CUDA/CPU build it was compiled against: key the
# cached wheel on all three, so another environment never picks up a wheel built for this one.
OPS_KIND=cpu; [[ ${FORCE_CUDA:-0} == 1 ]] && OPS_KIND=cuda$("$PY" -c "import torch; print(torch.version.cuda)")
WHEELS=$CACHE/wheels/mmcv$MMCV_VERSION-torch$TORCH_VERSION-$("$PY" -c "import sys; print('cp%d%d' % sys.version_info[:2])")-$OPS_KIND

mmcv_whl() { ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -1; }
if [[ -z $(mmcv_whl) ]]; then
  jobs=${MAX_JOBS:-$(nproc)}
  # Measured cold builds with 2 jobs: 14 min (Intel, AVX-512), 28 min (AMD EPYC, AVX2); the
  # compile is CPU-bound and scales with the number of jobs.
  lo=$((14 * 2 / jobs)) hi=$((28 * 2 / jobs))
  step "2/5 building mmcv $MMCV_VERSION with compiled ops from source, once per machine:" \
       "expect $((lo > 1 ? lo : 1))-$((hi > 2 ? hi : 2)) min with $jobs jobs (cached in $WHEELS)"
  mkdir -p "$WHEELS"; tmp=$(mktemp -d)
  pip_ install -r "$ROOT/requirements/build.txt"  # setuptools<70: mmcv 2.1.0 imports pkg_resources
  pip_ download --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$tmp"
  tar xzf "$tmp"/mmcv-"$MMCV_VERSION".tar.gz -C "$tmp"
  # torch >= 2.14 headers require C++20; mmcv 2.1.0 hard-codes -std=c++17.
  sed -i "s/-std=c++17/-std=c++20/g" "$tmp/mmcv-$MMCV_VERSION/setup.py"
  tb=$SECONDS
  ( while sleep 120; do echo "[setup]   mmcv build running: $(( (SECONDS - tb) / 60 )) min"; done ) &
  heartbeat=$!
  trap 'kill $heartbeat 2>/dev/null || true' EXIT
  MMCV_WITH_OPS=1 MAX_JOBS=$jobs pip_ wheel --no-deps --no-build-isolation \
    -w "$tmp/out" "$tmp/mmcv-$MMCV_VERSION"
  kill $heartbeat 2>/dev/null || true
  mv "$tmp"/out/mmcv-*.whl "$WHEELS"/ && rm -rf "$tmp"
  step "mmcv built in $(( (SECONDS - tb) / 60 )) min $(( (SECONDS - tb) % 60 )) s"
else
  step "2/5 mmcv $MMCV_VERSION: cached wheel $(mmcv_whl)"
fi
pip_ install "$(mmcv_whl)"
step "3/5 the pinned stack (requirements/stack.txt, requirements/no-deps.txt)"
pip_ install -r "$PINS"
pip_ install --no-deps -r "$NO_DEPS"
step "4/5 focalnet_mm (editable)"
pip_ install --no-deps -e "$ROOT"
"$PY" -c "from mmcv.ops import RoIAlign, nms; import mmdet, mmseg, mmpretrain.models, panopticapi.evaluation, focalnet_mm"
echo "$want" > "$STAMP"
step "5/5 side environments (requirements/transformers-*.txt)"
side_envs
echo "[setup] done in $((SECONDS - t0)) s"
