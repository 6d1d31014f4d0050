"""The presets travel with the package: a built wheel holds pipelines/*.toml and `--pipeline quick`
finds them from any directory, with no source checkout in sight."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from automl.config import parse_duration

REPO = Path(__file__).resolve().parents[2]
# What the build reads: pyproject.toml names README.md as the readme and installs automl/ and pipelines/.
SOURCES = ("pyproject.toml", "README.md", "automl", "pipelines")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the sources, so the build leaves no build/ or stale files in the repo."""
    root = tmp_path_factory.mktemp("wheel")
    source, out = root / "src", root / "dist"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    # --no-build-isolation: the build uses this environment's setuptools and wheel (tensorflow depends on
    # both) instead of downloading them.
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--no-index", "-w", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, f"pip wheel failed:\n{built.stdout}\n{built.stderr}"
    (path,) = out.glob("automl-*.whl")
    return path, source


def test_the_wheel_holds_every_preset_and_every_module(wheel):
    path, source = wheel
    names = set(zipfile.ZipFile(path).namelist())
    presets = sorted(p.name for p in (source / "pipelines").glob("*.toml"))
    assert {"quick.toml", "default.toml", "thorough.toml"} <= set(presets)
    assert {f"automl/pipelines/{name}" for name in presets} <= names
    # pyproject.toml lists the packages by hand: a package under automl/ left off that list is caught here.
    modules = {p.relative_to(source).as_posix() for p in (source / "automl").rglob("*.py")}
    assert modules - names == set(), "modules missing from the wheel: add their packages to pyproject.toml"


def test_an_installed_wheel_loads_the_quick_preset_from_another_directory(wheel, tmp_path):
    path, source = wheel
    target, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                                "--target", str(target), str(path)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, f"pip install failed:\n{installed.stdout}\n{installed.stderr}"
    script = ("import dataclasses, json, automl; from automl.config import load_config, preset_names, resolve_preset; "
              "print(json.dumps({'module': automl.__file__, 'preset': str(resolve_preset('quick')), "
              "'names': preset_names(), 'values': dataclasses.asdict(load_config('quick', data='d'))}))")
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # The installed copy answered, not the editable checkout: both the code and the preset come from the wheel.
    assert Path(found["module"]).is_relative_to(target)
    assert Path(found["preset"]) == target / "automl" / "pipelines" / "quick.toml"
    assert found["names"] == sorted(p.stem for p in (source / "pipelines").glob("*.toml"))
    expected = tomllib.loads((REPO / "pipelines" / "quick.toml").read_text(encoding="utf-8"))
    if "time_budget" in expected:
        expected["time_budget"] = parse_duration(expected["time_budget"])
    assert expected and {key: found["values"][key] for key in expected} == expected
