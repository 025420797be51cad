"""`apigen replay` as a user types it next to a finished run: no config file, `--log` only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import streamer.replay._replay
from streamer.cli._app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished simulated run (its out dir holds log.db and the result cache)."""
    out = tmp_path_factory.mktemp("run") / "out-sim"
    apigen = Path(sys.executable).with_name("apigen")
    done = subprocess.run(
        [str(apigen), "run", "--simulate", "--samples", "12", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.mark.slow
def test_execution_replay_with_only_log_uses_the_runs_directory(
    run_dir: Path, tmp_path: Path
) -> None:
    """Run from another directory: the result cache is the one beside the log (it was
    ``./out/results-cache.db``, an sqlite3.OperationalError where ./out did not exist)."""
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = runner.invoke(
            app,
            ["replay", "--log", str(run_dir / "log.db"), "--stage", "execution", "--version", "x2"],
        )
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert "execution" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_semantic_replay_without_judges_or_local_model_is_a_clear_error(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> Path:
        raise FileNotFoundError("SmolLM2 GGUF not found: install it with scripts/install --local")

    monkeypatch.setattr(streamer.replay._replay, "default_model_path", missing)
    result = runner.invoke(
        app,
        ["replay", "--log", str(run_dir / "log.db"), "--stage", "format", "--version", "x3",
         "--downstream"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "no_judge" in result.output and "[[judges]]" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
