#!/usr/bin/env bash
# Set up the course's environment (once) and run it.
#
#   bash run.sh demo    the main job: train quick colorizers on the embedded photos and compare them
#   bash run.sh test    the tests (what CI runs)
#
# It makes a virtual environment in .venv (override with COLORLAB_VENV), installs
# PyTorch first, pinned, so that pip never resolves a bare "torch" to some other
# build, then installs colorlab with its test and notebook extras.
set -euo pipefail
cd "$(dirname "$0")"

venv=${COLORLAB_VENV:-.venv}
python=${PYTHON:-python3}
torch_version=${COLORLAB_TORCH_VERSION:-2.13.0}

if [ ! -x "$venv/bin/python" ]; then
  echo "run.sh: creating the virtual environment $venv"
  "$python" -m venv "$venv"
fi
# shellcheck disable=SC1091
. "$venv/bin/activate"

if ! python -c "import torch" 2>/dev/null; then
  echo "run.sh: installing torch==$torch_version"
  python -m pip install --quiet "torch==$torch_version"
fi

# Reinstall only when the package's requirements changed.
stamp="$venv/.colorlab-installed"
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "run.sh: installing colorlab and its requirements"
  python -m pip install --quiet -e ".[dev]"
  echo "$want" > "$stamp"
fi

case "${1:-}" in
  demo) shift; colorlab demo "$@" ;;
  test) shift
    # Trained notebook models are cached here, inside the checkout, so a run never reuses stale files from elsewhere.
    export COLORLAB_CACHE=${COLORLAB_CACHE:-$PWD/.cache/colorlab}
    python -m pytest "$@" ;;
  *) echo "usage: bash run.sh demo|test [options]" >&2; exit 2 ;;
esac
