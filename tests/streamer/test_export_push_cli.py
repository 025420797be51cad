"""`apigen export --push-to-hub REPO` (issue 22): the dry run lists the card and exports with
their sizes, with no token and no network; usage errors and a missing token stop before
any upload. Nothing here reaches the real Hub: the one upload path tested uses a fake
``HfApi`` and shows a failure's message keeps the token out."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from streamer.cli import _check as _cli_check

from .test_export_cli import app, make_run_dir, runner

SECRET = "hf_SeCrEt_token_1234567890"


@pytest.fixture(autouse=True)
def no_upload(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fails any real push; the list gets the repos a push was attempted to."""
    pushed: list[str] = []

    def refuse(out: Path, repo: str, token: str, *, private: bool = False) -> str:
        pushed.append(repo)
        raise AssertionError("an upload was attempted")

    monkeypatch.setattr(_cli_check, "push_to_hub", refuse)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return pushed


def test_the_dry_run_lists_the_card_and_exports_with_sizes(
    tmp_path: Path, no_upload: list[str]
) -> None:
    run = make_run_dir(tmp_path / "run")
    result = runner.invoke(app, ["export", str(run), "--push-to-hub", "me/data", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    listed = {line[1]: int(line[2]) for line in lines if line[0] == "upload"}
    expected = ["README.md", "xlam.jsonl", "openai.jsonl", "sharegpt.jsonl", "dataset.parquet"]
    assert list(listed) == expected  # not dataset.db, logs or caches
    assert listed == {name: (run / name).stat().st_size for name in expected}
    assert all(size > 0 for size in listed.values())
    assert f"{len(expected)} files, {sum(listed.values())} bytes" in result.stderr
    assert no_upload == []


def test_the_dry_run_lists_only_what_was_exported(tmp_path: Path) -> None:
    run = make_run_dir(tmp_path / "run")
    out = tmp_path / "out"
    args = ["export", str(run), "--out", str(out), "--format", "xlam", "--format", "card"]
    result = runner.invoke(app, [*args, "--push-to-hub", "data", "--dry-run"])
    assert result.exit_code == 0, result.output
    names = [line.split("\t")[1] for line in result.stdout.splitlines() if line.startswith("up")]
    assert names == ["README.md", "xlam.jsonl"]


@pytest.mark.parametrize(
    "args",
    [
        ["--dry-run"],  # without --push-to-hub
        ["--push-to-hub", "a/b/c", "--dry-run"],
        ["--push-to-hub", "../x", "--dry-run"],
        ["--push-to-hub", "me/bad name"],
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], no_upload: list[str]) -> None:
    run = make_run_dir(tmp_path / "run")
    result = runner.invoke(app, ["export", str(run), *args])
    assert result.exit_code == 2, result.output
    assert no_upload == []


def test_without_a_token_nothing_is_pushed(tmp_path: Path, no_upload: list[str]) -> None:
    run = make_run_dir(tmp_path / "run")
    result = runner.invoke(app, ["export", str(run), "--push-to-hub", "me/data"])
    assert result.exit_code == 3, result.output
    assert "HF_TOKEN" in result.stderr
    assert no_upload == []


def test_a_failed_push_never_shows_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamer.dataset import _hub

    calls: list[dict[str, Any]] = []

    class FakeApi:
        def __init__(self, token: str) -> None:
            assert token == SECRET

        def create_repo(self, repo: str, **kwargs: Any) -> None:
            calls.append({"repo": repo, **kwargs})

        def upload_folder(self, **kwargs: Any) -> None:
            calls.append(kwargs)
            raise OSError(f"401 Unauthorized for token {SECRET}")

    fake = types.ModuleType("huggingface_hub")
    fake.HfApi = FakeApi  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "huggingface_hub", fake)
    monkeypatch.setattr(_cli_check, "push_to_hub", _hub.push_to_hub)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    run = make_run_dir(tmp_path / "run")
    result = runner.invoke(app, ["export", str(run), "--push-to-hub", "me/data"])
    assert result.exit_code == 1, result.output
    assert SECRET not in result.output
    assert "401 Unauthorized" in result.stderr and "[REDACTED]" in result.stderr
    create, upload = calls
    assert create["repo"] == "me/data" and create["repo_type"] == "dataset"
    assert upload["repo_type"] == "dataset"
    assert upload["allow_patterns"] == [
        "README.md", "xlam.jsonl", "openai.jsonl", "sharegpt.jsonl", "dataset.parquet",
    ]  # fmt: skip
