#!/usr/bin/env bash
# Make the peers' virtual environments for the benchmarks, one per peer family, under
# bench/.envs/ (ignored by git). None of the peers is a dependency of neuroai_core, the
# course or CI: the bench scripts run them in these venvs through small worker scripts
# (bench/peers/*_worker.py) and report a peer whose venv is missing as "not installed".
#
#   bash bench/peers/make_envs.sh            # all three
#   bash bench/peers/make_envs.sh brian2     # just one (brian2 | snn | avalanche)
#
# torch is ALWAYS pinned: a plain 'torch' pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."          # bench/
PYTHON="${PYTHON:-python3}"
ENVS=.envs
mkdir -p "$ENVS"

make_env() {  # name, pip arguments...
  local name="$1"; shift
  echo "make_envs: $name"
  [ -x "$ENVS/$name/bin/python" ] || "$PYTHON" -m venv "$ENVS/$name"
  "$ENVS/$name/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}

targets=("$@")
sel() { [ ${#targets[@]} -eq 0 ] || [[ " ${targets[*]} " == *" $1 "* ]]; }

# Brian2 2.9 needs numpy below 2.4; Cython for its cython code generation, g++ for
# C++ standalone (system compiler).
sel brian2 && make_env brian2 "brian2==2.9.0" "numpy<2.4" "cython>=3" "setuptools"
# snnTorch and Norse on the CPU build of torch 2.13.0 that lies on this machine's disk.
sel snn && make_env snn "torch==2.13.0" "numpy==2.4.6" snntorch norse
# Avalanche 0.6 needs a torchvision matching its torch (2.14.1 / 0.29.1, a CUDA build of
# about 5.5 GB); scikit-learn for the digits data set.
sel avalanche && make_env avalanche "torch==2.14.1" "torchvision==0.29.1" \
  "avalanche-lib==0.6.0" scikit-learn
echo "make_envs: done"
