"""Packaging: the README's ``pip install -e .``, in a clone named ``codec``, imports the package
(not the clone's folder) from the folder that holds the clone."""

import os
import shutil
import subprocess
import sys
import venv

import pytest

from conftest import ROOT

# what pip prints when it cannot get the build backend (no network, no index)
OFFLINE = ("Could not find a version that satisfies the requirement setuptools",
           "No matching distribution found for setuptools", "NewConnectionError")


def clone_named_codec(parent):
    """The files an install reads, in ``parent/codec``: a clone as a user names it."""
    clone = parent / "codec"
    (clone / "codec").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "codec/__init__.py", "codec/version.py"):
        shutil.copy(ROOT / name, clone / name)
    return clone


def test_editable_install_imports_the_package_from_above_the_clone(tmp_path):
    """Without ``editable_mode=compat``: setuptools' default for a package beside other folders
    is an import hook, consulted after a ``codec`` folder in the working directory."""
    clone = clone_named_codec(tmp_path)
    venv.create(tmp_path / "venv", with_pip=False)
    python = tmp_path / "venv" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                          "--no-deps", "--retries", "0", "--timeout", "10", "-e", str(clone)],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    if pip.returncode and any(s in pip.stdout + pip.stderr for s in OFFLINE):
        pytest.skip("pip cannot get the build backend (setuptools) without a network")
    assert pip.returncode == 0, pip.stderr
    where = subprocess.run([str(python), "-c", "import importlib.util as u; "
                            "print(u.find_spec('codec').origin)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)  # above the clone
    assert where.stdout.strip() == str(clone / "codec" / "__init__.py"), where.stderr
