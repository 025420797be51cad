"""The card's funnel gives LLM failures their own column (issue 21), apart from the format
checker's verdicts."""

from __future__ import annotations

from pathlib import Path

from streamer.dataset._export import export_dataset
from streamer.dataset._store import DatasetStore
from streamer.dataset._usage import read_usage
from topics import EventMeta, Reject

from .factories import verified


def _reject(rid: str, stage: str, reason: str) -> Reject:
    meta = EventMeta(id=rid, parent_id="p", sample_id=rid, stage=stage, stage_version="v")
    return Reject(meta=meta, reason=reason, message="x", rejected={}, model="gen", style="simple")


def test_llm_failures_have_their_own_funnel_column(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path / "d.db")
    store.add(verified("What is f of 1?", sid="a", model="gen"))
    store.add_reject(_reject("r1", "generator", "llm_bad_response"))
    store.add_reject(_reject("r2", "generator", "llm_bad_request"))
    store.add_reject(_reject("r3", "format", "invalid_json"))
    card = export_dataset(store, tmp_path / "out")["card"].read_text()
    header = next(line for line in card.splitlines() if line.startswith("| Model |"))
    assert header.split("|")[3].strip() == "LLM failed"
    # pairs 4: 2 LLM failures, 1 format failure, 0, 0, 1 verified
    assert "| gen | 4 | 2 | 1 | 0 | 0 | 1 | 25.00% |" in card
    store.close()


def test_the_card_shows_tokens_and_cost_per_role_and_model(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "streamer", "run", "--simulate", "--samples", "3", "--out",
         str(out)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    usage = {(u.role, u.model): u for u in read_usage(out / "dataset.db")}
    roles = {role for role, _ in usage}
    assert roles == {"generator", "judge"}, usage
    generator = next(u for (role, _), u in usage.items() if role == "generator")
    assert generator.calls >= 3 and generator.prompt_tokens > 0 and generator.cost_usd == 0
    card = (out / "README.md").read_text()
    assert "## LLM usage and cost" in card
    row = f"| generator | {generator.model} | {generator.calls} | {generator.prompt_tokens} |"
    assert row in card
