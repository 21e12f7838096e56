#!/usr/bin/env bash
# Find a Python >= 3.12, make .venv, and install rt-core with every plugin in
# this repository (editable).  `--test` also installs the test dependencies.
# Idempotent: re-runs only reinstall when a pyproject.toml changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

ok_python() {  # prints the interpreter path when it runs and is >= 3.12
  local py="$1"
  [[ -n "$py" ]] || return 1
  "$py" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1 || return 1
  "$py" -c 'import sys; print(sys.executable)'
}

# 3.12 before newer ones: docs/performance.md is measured on 3.12, and on that
# machine 3.13.0 (built the same way) spent 9-21 % more cycles per relayed
# frame (bench/count_gateway.py, alternated). RT_PYTHON overrides.
find_python() {
  local c found
  for c in "${RT_PYTHON:-}" python3.12 python3.13 python3 python; do
    if command -v "$c" >/dev/null 2>&1 && found="$(ok_python "$(command -v "$c")")"; then
      echo "$found"; return 0
    fi
  done
  # pyenv installs that are not on PATH, then the usual system places (3.12, then newest first).
  local pyenv="${PYENV_ROOT:-$HOME/.pyenv}/versions"
  for c in $( { ls -d "$pyenv"/3.12*/bin/python3 /usr/local/bin/python3.12 /usr/bin/python3.12 2>/dev/null | sort -rV
                ls -d "$pyenv"/3.1[3-9]*/bin/python3 /usr/local/bin/python3.1[3-9] /usr/bin/python3.1[3-9] \
                      /opt/python*/bin/python3 2>/dev/null | sort -rV; } ); do
    if found="$(ok_python "$c")"; then echo "$found"; return 0; fi
  done
  return 1
}

venv="$root/.venv"
if [[ ! -x "$venv/bin/python" ]] || ! ok_python "$venv/bin/python" >/dev/null; then
  if ! py="$(find_python)"; then
    echo "rt: no Python >= 3.12 found (tried RT_PYTHON, python3.12, python3.13, python3, ~/.pyenv/versions)." >&2
    echo "rt: install one (e.g. 'pyenv install 3.12') or set RT_PYTHON=/path/to/python3.12." >&2
    exit 1
  fi
  echo "rt: creating .venv with $py" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi

# Packages in dependency order: core, then plugins others build on, then the rest.
pkgs=(-e "core[audio,fast]")
for p in openai gemini mock azure xai vertex bedrock; do
  [[ -f "plugins/$p/pyproject.toml" ]] && pkgs+=(-e "plugins/$p")
done
for d in plugins/*/; do
  p="$(basename "$d")"
  case " openai gemini mock azure xai vertex bedrock " in *" $p "*) ;; *) [[ -f "$d/pyproject.toml" ]] && pkgs+=(-e "plugins/$p");; esac
done

# One stamp per set of pyproject files; a test install is a superset of a plain one.
stamp="$(cat pyproject.toml core/pyproject.toml plugins/*/pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)"
suffix=$([[ $want_test == 1 ]] && echo test || echo base)
stamp_file="$venv/.rt-installed-$stamp-$suffix"
if [[ ! -f "$stamp_file" && ! -f "$venv/.rt-installed-$stamp-test" ]]; then
  echo "rt: installing ${pkgs[*]}" >&2
  extra=()
  [[ $want_test == 1 ]] && extra=(--group test)
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pkgs[@]}" "${extra[@]}"
  rm -f "$venv"/.rt-installed-*
  touch "$stamp_file"
fi
