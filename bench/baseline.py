"""``--baseline REF``: another commit of flowruns, built beside this checkout.

The commit's ``src`` and ``pyproject.toml`` are extracted from the repository's objects with
``git archive`` into ``bench/.data/baseline-<sha>`` (the working tree and the index are never
touched), once per commit. The baseline runs from there with ``PYTHONPATH`` pointing at its
``src``, in this checkout's virtualenv when both declare the same dependencies, else in a
virtualenv of its own, made once inside the extracted tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from bench.builds import Build

_STAMP = "installed"  # written into the baseline's own virtualenv once its install succeeded


class BaselineError(RuntimeError):
    """The baseline cannot be built; the message says why."""


def build(repo: Path, ref: str, cache: Path) -> Build:
    """The :class:`Build` of ``ref`` (a commit, tag or branch of ``repo``), built if not yet."""
    sha = resolve(repo, ref)
    source = tree(repo, sha, cache)
    python = interpreter(source, repo / "pyproject.toml")
    short = _git(repo, "rev-parse", "--short", sha).strip()
    built = Build(short, sha, python, source / "src")
    _check_imports(built)
    return built


def resolve(repo: Path, ref: str) -> str:
    """The full commit id ``ref`` names in ``repo``."""
    try:
        return _git(repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").strip()
    except subprocess.CalledProcessError as error:
        raise BaselineError(f"--baseline {ref}: not a commit of {repo}: {error.stderr}") from None


def tree(repo: Path, sha: str, cache: Path) -> Path:
    """The source tree of commit ``sha``, extracted under ``cache`` unless it already is."""
    target = cache / f"baseline-{sha}"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    # Extracted beside the target and renamed into place: an interrupted build never counts.
    partial = Path(tempfile.mkdtemp(prefix=f".baseline-{sha[:12]}-", dir=cache))
    try:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", sha, "src", "pyproject.toml"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        partial.rename(target)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(partial, ignore_errors=True)
        reason = error.stderr.decode(errors="replace") if error.stderr else error
        raise BaselineError(f"cannot extract {sha}: {reason}") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def dependencies(pyproject: Path) -> list[str]:
    """The runtime dependencies ``pyproject`` declares, in a comparable order."""
    with pyproject.open("rb") as handle:
        declared: list[str] = tomllib.load(handle)["project"]["dependencies"]
    return sorted(declared)


def interpreter(source: Path, current_pyproject: Path) -> str:
    """The Python that runs the baseline in ``source``: this one when the baseline declares the
    dependencies this checkout declares, else that of a virtualenv made for it (once)."""
    wanted = dependencies(source / "pyproject.toml")
    if wanted == dependencies(current_pyproject):
        return sys.executable
    venv = source / ".venv"
    python = venv / "bin" / "python"
    if not (venv / _STAMP).exists():
        print(f"The baseline's dependencies differ: installing them into {venv} (once)", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *wanted], check=True)
        (venv / _STAMP).write_text("\n".join(wanted) + "\n")
    return str(python)


def describe_current(repo: Path) -> str:
    """This checkout's commit, and whether its code differs from that commit."""
    short = _git(repo, "rev-parse", "--short", "HEAD").strip()
    changed = _git(repo, "status", "--porcelain", "--", "src", "pyproject.toml").strip()
    return f"{short} with uncommitted changes to src" if changed else short


def _check_imports(built: Build) -> None:
    # PYTHONPATH comes before this checkout's editable install; make sure it won.
    found = subprocess.run(
        [built.python, "-c", "import flowruns; print(flowruns.__file__)"],
        env={**os.environ, **built.env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert built.src is not None
    if not Path(found).is_relative_to(built.src):
        raise BaselineError(f"the baseline imports flowruns from {found}, not from {built.src}")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout
