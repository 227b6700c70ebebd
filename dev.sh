#!/usr/bin/env bash
# The set-up commands of the README. Each creates (or reuses) the virtual environment
# .venv from the pinned requirements-dev.txt, then:
#   ./dev.sh build          builds the course: student versions, checks, website (neuroai build;
#                           extra arguments go to it, e.g. --force, --strict)
#   ./dev.sh test           runs the whole test suite, as CI does (extra arguments go to pytest)
#   ./dev.sh test --fast    the fast tier (no notebook runs, site builds or benchmarks: the
#                           tests marked slow are left out), to run before every commit
#   ./dev.sh shell          opens a shell with the environment active
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
VENV="${NEUROAI_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

ensure_venv() {
  local start=$SECONDS
  echo "== install: environment $VENV"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "dev.sh: Python 3.10 or newer is needed; set PYTHON=/path/to/python3.x" >&2; exit 1; }
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  local want stamp="$VENV/.neuroai-requirements"
  want="$(cat requirements-dev.txt pyproject.toml neuroai_course/pyproject.toml neuroai_course/setup.py | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "dev.sh: installing the pinned environment into $VENV (first run takes a few minutes)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt 2>&1 \
      | grep -v "is ignored: it is neither a file nor a directory" || true
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
      -e . -e ./neuroai_course 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true
    "$VENV/bin/python" -c 'import neuroai_core, neuroai_course, nbgrader, jupyter_book, pytest, distributed' \
      || { echo "dev.sh: the install failed (see above)" >&2; exit 1; }
    echo "$want" > "$stamp"
    echo "== install: done in $((SECONDS - start)) s"
  else
    echo "== install: up to date (requirements unchanged)"
  fi
  export PATH="$PWD/$VENV/bin:$PATH"
}

case "${1:-}" in
  build) shift; ensure_venv; exec neuroai build "$@" ;;
  test)  shift; ensure_venv
         if [ "${1:-}" = "--fast" ]; then shift; exec python -m pytest -n 2 -m "not slow" "$@"; fi
         exec python -m pytest -n 2 "$@" ;;
  shell) ensure_venv; exec "${SHELL:-bash}" ;;
  *) echo "usage: ./dev.sh build [neuroai build args] | test [--fast] [pytest args] | shell" >&2
     exit 2 ;;
esac
