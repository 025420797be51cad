"""The pipeline assembled: configuration, stage versions, building and running.

:func:`load_config` reads the TOML config into a :class:`PipelineConfig`; :mod:`._versions`
builds each stage with the version its config hashes to (live runs and replays alike);
:mod:`._build` opens the transport, library, models and stages; :func:`run_pipeline` runs
them all (``apigen run``), optionally over several processes (:mod:`._processes`), and
:func:`serve_sampler` is the sampler as a service.

May import the stages and every part below them; not ``replay``, ``check`` or ``cli``.
"""

from ._build import (
    STAGE_NAMES,
    build_stage,
    build_stages,
    load_library,
    make_sampler,
    open_execution,
    open_semantic,
    open_transport,
)
from ._config import ConfigError, ModelConfig, PipelineConfig, load_config
from ._run import Progress, RunSummary, run_pipeline
from ._sampler_service import serve_sampler
from ._virtual_config import VirtualApisConfig

__all__ = [
    "STAGE_NAMES",
    "ConfigError",
    "ModelConfig",
    "PipelineConfig",
    "Progress",
    "RunSummary",
    "VirtualApisConfig",
    "build_stage",
    "build_stages",
    "load_config",
    "load_library",
    "make_sampler",
    "open_execution",
    "open_semantic",
    "open_transport",
    "run_pipeline",
    "serve_sampler",
]
