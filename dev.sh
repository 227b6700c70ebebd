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

UV_VERSION=0.13.9  # keep in step with requirements-dev.txt

# The pinned requirements, then both packages editable. uv (itself pinned) installs them in
# well under a minute where pip takes minutes; pip is the fallback when uv cannot be had.
# uv does not read pip's configuration, so pip's find-links (where a local wheel such as
# the CPU build of torch may lie) are passed on. Bytecode is not compiled at install time:
# the course imports about a third of the environment's 14,000 modules, and compiling all
# of them took 30 s more, twice the rest of the install; see ensure_venv.
install_requirements() {
  local py="$VENV/bin/python" install
  if "$py" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" 2>/dev/null; then
    install=("$VENV/bin/uv" pip install --python "$py" --quiet)
    local link
    for link in ${PIP_FIND_LINKS:-$("$py" -m pip config get global.find-links 2>/dev/null || true)}; do
      install+=(--find-links "$link")
    done
  else
    echo "dev.sh: uv $UV_VERSION could not be installed; installing with pip (a few minutes)"
    install=("$py" -m pip install --quiet --disable-pip-version-check --no-compile)
  fi
  # (pip warns about every missing folder of its extra indexes: noise)
  "${install[@]}" -r requirements-dev.txt 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  "${install[@]}" --no-deps -e . -e ./neuroai_course 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
}

ensure_venv() {
  local start=$SECONDS
  echo "== install: environment $VENV"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "dev.sh: Python 3.10 or newer is needed; set PYTHON=/path/to/python3.x" >&2; exit 1; }
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  local want stamp="$VENV/.neuroai-requirements"
  want="$(cat requirements-dev.txt pyproject.toml neuroai_course/pyproject.toml neuroai_course/setup.py | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "dev.sh: installing the pinned environment into $VENV"
    install_requirements
    "$VENV/bin/python" -c 'import neuroai_core, neuroai_course, nbgrader, jupyter_book, pytest, distributed' \
      || { echo "dev.sh: the install failed (see above)" >&2; exit 1; }
    echo "$want" > "$stamp"
    echo "== install: done in $((SECONDS - start)) s"
  else
    echo "== install: up to date (requirements unchanged)"
  fi
  export PATH="$PWD/$VENV/bin:$PATH"
  # Python writes each module's bytecode at its first import, as it does by default; some
  # images turn that off (PYTHONDONTWRITEBYTECODE=1), and then every process compiles what
  # it imports again: 2 s more for each kernel's import of torch.
  unset PYTHONDONTWRITEBYTECODE
}

# The grading sandbox: Debian's bubblewrap and libseccomp's Python bindings. Installed
# here when this is root with apt (as on the CI machine); elsewhere (macOS, no root) one
# line says how. Without them 'neuroai check' still checks every tutorial, unsandboxed, and
# 'neuroai grade' refuses untrusted hand-ins.
ensure_sandbox() {
  local missing=()
  local bwrap; bwrap="$(command -v bwrap 2>/dev/null || true)"
  [ -n "$bwrap" ] && [ -f "$bwrap" ] && [ -x "$bwrap" ] || missing+=(bubblewrap)
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import seccomp' >/dev/null 2>&1 \
    || missing+=(python3-seccomp)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(uname -s)" = Linux ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "dev.sh: installing ${missing[*]} (the grading sandbox)"
    { apt-get install -y -qq "${missing[@]}" || { apt-get update -qq \
        && apt-get install -y -qq "${missing[@]}"; }; } >/dev/null 2>&1 \
      || echo "dev.sh: could not install ${missing[*]} with apt-get; continuing without the sandbox"
  else
    echo "dev.sh: the grading sandbox needs ${missing[*]} (Debian/Ubuntu, as root: apt-get" \
         "install ${missing[*]}); until then 'neuroai check' runs notebooks unsandboxed and" \
         "'neuroai grade' refuses untrusted hand-ins"
  fi
}

case "${1:-}" in
  build) shift; ensure_venv; ensure_sandbox; exec neuroai build "$@" ;;
  test)  shift; ensure_venv; ensure_sandbox
         if [ "${1:-}" = "--fast" ]; then shift; exec python -m pytest -n 2 -m "not slow" "$@"; fi
         exec python -m pytest -n 2 "$@" ;;
  shell) ensure_venv; exec "${SHELL:-bash}" ;;
  *) echo "usage: ./dev.sh build [neuroai build args] | test [--fast] [pytest args] | shell" >&2
     exit 2 ;;
esac
