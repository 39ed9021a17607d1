"""The distribution as a user gets it (issue 15 item 10).

``python -m build`` gives an sdist and a wheel; the wheel installed in a fresh virtual environment,
outside the clone, runs ``ezhifu demo``; the sdist carries the tests, docs, examples and schemas,
and its document tests pass against the installed wheel. Real builds, real installs: slow.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

import ezhifu

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}: rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "-o", str(out), str(ROOT)], cwd=out)
    return out


def test_sdist_carries_what_the_tests_need(dist: Path) -> None:
    (sdist,) = dist.glob("ezhifu-*.tar.gz")
    assert sdist.name == f"ezhifu-{ezhifu.__version__}.tar.gz"
    with tarfile.open(sdist) as tar:
        top = {Path(n).parts[1] for n in tar.getnames() if len(Path(n).parts) > 1}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "tests", "docs", "examples", "schemas", "src"} <= top


def test_wheel_in_a_fresh_venv_runs_the_demo_and_the_sdist_tests(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("ezhifu-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel), "pytest", "hypothesis"], cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    version = _run([str(env_dir / "bin" / "ezhifu"), "--version"], cwd=work).stdout
    assert ezhifu.__version__ in version
    _run([str(env_dir / "bin" / "ezhifu"), "demo", "--out", str(work / "demo")], cwd=work)
    assert (work / "demo" / "envelope.xml").is_file()
    (sdist,) = dist.glob("ezhifu-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "sdist", filter="data")
    (src_root,) = (tmp_path / "sdist").iterdir()
    # The installed wheel, not the sdist's src/, is what the tests import.
    found = _run([str(python), "-c", "import ezhifu; print(ezhifu.__file__)"], cwd=src_root).stdout
    assert str(env_dir) in found
    _run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/document"], cwd=src_root)
