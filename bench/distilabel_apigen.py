"""distilabel 1.5.3's APIGen pipeline, run by the harness inside ``bench/.venv-distilabel``.

    bench/.venv-distilabel/bin/python bench/distilabel_apigen.py ROWS.jsonl LIB.py BASE_URL \
        --batch-size 50 --cache-dir bench/.work/distilabel

``APIGenGenerator`` -> ``APIGenExecutionChecker`` -> ``APIGenSemanticChecker``, both LLM
steps through ``OpenAILLM`` against ``BASE_URL`` (the simulated endpoint). ``ROWS.jsonl``
holds distilabel's input columns (``examples``, ``func_name``, ``func_desc``, ``tools``),
``LIB.py`` the Python functions the execution checker loads — both written by
``bench/harness.py`` from our built-in library, so both sides run the same functions.

Prints one JSON object: rows in, rows generated, rows passing execution, rows verified
(passing execution and the semantic check) and the pipeline's wall time in seconds. This
file imports only distilabel (our package is not installed in that environment).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows")
    parser.add_argument("libpath")
    parser.add_argument("base_url")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--model", default="simulated-bench")
    args = parser.parse_args()

    from distilabel.models import OpenAILLM  # type: ignore[import-not-found, unused-ignore]
    from distilabel.pipeline import Pipeline  # type: ignore[import-not-found, unused-ignore]
    from distilabel.steps import LoadDataFromDicts  # type: ignore[import-not-found, unused-ignore]
    from distilabel.steps.tasks import (  # type: ignore[import-not-found, unused-ignore]
        APIGenExecutionChecker,
        APIGenGenerator,
        APIGenSemanticChecker,
    )

    with open(args.rows) as f:
        rows: list[dict[str, Any]] = [json.loads(line) for line in f if line.strip()]

    def llm() -> OpenAILLM:
        return OpenAILLM(model=args.model, base_url=args.base_url, api_key="no-key", timeout=120)

    with Pipeline(name="apigen-bench", cache_dir=args.cache_dir) as pipeline:
        load = LoadDataFromDicts(data=rows, batch_size=args.batch_size)
        generate = APIGenGenerator(llm=llm(), input_batch_size=args.batch_size)
        execute = APIGenExecutionChecker(libpath=args.libpath, input_batch_size=args.batch_size)
        semantic = APIGenSemanticChecker(llm=llm(), input_batch_size=args.batch_size)
        load >> generate >> execute >> semantic

    logging.disable(logging.WARNING)
    started = time.perf_counter()
    distiset = pipeline.run(use_cache=False)
    wall = time.perf_counter() - started
    out = distiset["default"]["train"]
    generated = sum(1 for q in out["query"] if q)
    executed = sum(1 for k in out["keep_row_after_execution_check"] if k)
    verified = sum(
        1
        for e, s in zip(
            out["keep_row_after_execution_check"],
            out["keep_row_after_semantic_check"],
            strict=True,
        )
        if e and s
    )
    result = {
        "rows": len(rows),
        "output_rows": len(out),
        "generated": generated,
        "executed": executed,
        "verified": verified,
        "wall_s": round(wall, 3),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
