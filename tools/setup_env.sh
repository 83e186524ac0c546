#!/usr/bin/env bash
# Idempotent set-up of .venv: torch, mmcv (compiled ops, built once and cached), mm* stack, focalnet_mm.
# Re-running it does nothing when the stamp matches the pins; the mmcv wheel is reused from
# $FOCALNET_MM_CACHE (default ~/.cache/focalnet-mm) so only the first set-up on a machine builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY=$VENV/bin/python
PINS=$ROOT/requirements/stack.txt
NO_DEPS=$ROOT/requirements/no-deps.txt  # packages whose declared dependencies are wrong
CACHE=${FOCALNET_MM_CACHE:-$HOME/.cache/focalnet-mm}
STAMP=$VENV/.focalnet-mm-stamp
pin() { grep -E "^$1==" "$PINS" | head -1 | cut -d= -f3; }
MMCV_VERSION=$(pin mmcv)
TORCH_VERSION=$(pin torch)
want=$(cat "$PINS" "$NO_DEPS" setup.cfg 2>/dev/null | sha1sum | cut -c1-16)

if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]] && "$PY" -c "import mmcv.ops, focalnet_mm" 2>/dev/null; then
  echo "[setup] .venv is up to date"; exit 0
fi
t0=$SECONDS
[[ -x $PY ]] || python3 -m venv "$VENV"
# pip, without the noise of this machine's local-index warnings
pip_() { "$PY" -m pip --disable-pip-version-check -q "$@" 2>&1 | { grep -v "WARNING: Location" || true; }
         return "${PIPESTATUS[0]}"; }
pip_ install "torch==$TORCH_VERSION" "torchvision==$(pin torchvision)"
# A compiled mmcv only fits the torch, Python and CUDA/CPU build it was compiled against: key the
# cached wheel on all three, so another environment never picks up a wheel built for this one.
OPS_KIND=cpu; [[ ${FORCE_CUDA:-0} == 1 ]] && OPS_KIND=cuda$("$PY" -c "import torch; print(torch.version.cuda)")
WHEELS=$CACHE/wheels/mmcv$MMCV_VERSION-torch$TORCH_VERSION-$("$PY" -c "import sys; print('cp%d%d' % sys.version_info[:2])")-$OPS_KIND

mmcv_whl() { ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -1; }
if [[ -z $(mmcv_whl) ]]; then
  echo "[setup] building mmcv $MMCV_VERSION with ops from source (about 20 min on 2 cores, once per machine)"
  mkdir -p "$WHEELS"; tmp=$(mktemp -d)
  pip_ install "setuptools<70" wheel ninja  # mmcv 2.1.0's setup.py imports pkg_resources
  pip_ download --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$tmp"
  tar xzf "$tmp"/mmcv-"$MMCV_VERSION".tar.gz -C "$tmp"
  # torch >= 2.14 headers require C++20; mmcv 2.1.0 hard-codes -std=c++17.
  sed -i "s/-std=c++17/-std=c++20/g" "$tmp/mmcv-$MMCV_VERSION/setup.py"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} pip_ wheel --no-deps --no-build-isolation \
    -w "$tmp/out" "$tmp/mmcv-$MMCV_VERSION"
  mv "$tmp"/out/mmcv-*.whl "$WHEELS"/ && rm -rf "$tmp"
fi
pip_ install "$(mmcv_whl)"
pip_ install -r "$PINS"
pip_ install --no-deps -r "$NO_DEPS"
pip_ install --no-deps -e "$ROOT"
"$PY" -c "from mmcv.ops import RoIAlign, nms; import mmdet, mmseg, mmpretrain.models, panopticapi.evaluation, focalnet_mm"
echo "$want" > "$STAMP"
echo "[setup] done in $((SECONDS - t0)) s"
