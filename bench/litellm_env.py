"""A throwaway virtualenv with LiteLLM's proxy, the incumbent the benchmark compares against.

LiteLLM is never a dependency of rt: it is installed from the package registry
into its own environment (default ``bench/.litellm-venv``, git-ignored) the first
time a comparison run needs it, and reused afterwards when the installed version
still matches the requested spec.

The interpreter for that environment is found, not hard-coded: the base
interpreter of the Python running the benchmark first (rt needs >= 3.12 anyway),
then ``python3.12``/``python3.13``/``python3`` on PATH, then pyenv's versions.

Run ``python bench/litellm_env.py`` to install (or check) it on its own.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

DEFAULT_SPEC = "litellm[proxy]>=1.106,<1.107"  # the release line the incumbent numbers come from
DEFAULT_DIR = Path(__file__).resolve().parent / ".litellm-venv"
MIN_PYTHON = (3, 10)


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                             capture_output=True, text=True, timeout=20, check=True).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def find_python() -> str:
    """An interpreter >= 3.10 able to create a venv, preferring the one running rt."""
    candidates: list[str] = []
    base = getattr(sys, "_base_executable", None)
    if base:
        candidates.append(base)
    candidates.append(sys.executable)
    for name in ("python3.12", "python3.13", "python3.11", "python3"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates.extend(sorted(glob.glob(f"{pyenv_root}/versions/3.1[0-9]*/bin/python3"), reverse=True))
    for python in candidates:
        version = _version_of(python)
        if version and version >= MIN_PYTHON:
            # A venv's python cannot always create a venv without ensurepip; the base one can.
            return python
    raise RuntimeError("no Python >= 3.10 found to hold LiteLLM")


def installed_version(venv: Path) -> str | None:
    """The litellm version in the venv, or None when it is not (fully) installed."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "litellm").exists() or not python.exists():
        return None
    try:
        return subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _satisfies(version: str, spec: str) -> bool:
    """Whether an installed version matches the spec; unknown spec forms count as a match."""
    try:
        from packaging.requirements import Requirement

        return Requirement(spec).specifier.contains(version, prereleases=True)
    except Exception:  # noqa: BLE001 - packaging missing or odd spec: keep what is there
        return True


def ensure_litellm(venv: Path = DEFAULT_DIR, spec: str = DEFAULT_SPEC,
                   log: Callable[[str], object] = print) -> tuple[Path, str]:
    """Return (path of the ``litellm`` CLI, installed version), installing it first if needed."""
    version = installed_version(venv)
    if version and _satisfies(version, spec):
        return venv / "bin" / "litellm", version
    python = find_python()
    if not (venv / "bin" / "python").exists():
        log(f"creating {venv} with {python}")
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    log(f"installing {spec!r} into {venv} (a few minutes the first time)")
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", spec],
                   check=True, timeout=1800)
    version = installed_version(venv)
    if version is None:
        raise RuntimeError(f"LiteLLM did not install into {venv}")
    return venv / "bin" / "litellm", version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--venv", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--spec", default=DEFAULT_SPEC)
    args = parser.parse_args(argv)
    exe, version = ensure_litellm(args.venv, args.spec)
    print(f"litellm {version}: {exe}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
