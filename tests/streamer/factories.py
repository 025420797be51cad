"""Small builders of events for stage tests."""

from __future__ import annotations

from topics import (
    Call,
    CallResult,
    EventMeta,
    Judgement,
    QueryStyle,
    Sample,
    SemanticPass,
    Tool,
)


def tool(name: str, category: str = "math", source: str = "python:test") -> Tool:
    params = {
        "type": "object",
        "properties": {"x": {"type": "number", "description": "A number."}},
        "required": ["x"],
    }
    return Tool(name, f"Does {name}.", params, category=category, api_id=f"{source}:{name}")


def sample(style: QueryStyle = QueryStyle.SIMPLE, *tools: Tool, sid: str = "s1") -> Sample:
    meta = EventMeta(id=sid, parent_id=None, sample_id=sid, stage="sampler", stage_version="v")
    return Sample(meta=meta, style=style, tools=tools or (tool("f"),))


def verified(query: str, *, sid: str = "s1", model: str = "m", index: int = 0) -> SemanticPass:
    s = sample(QueryStyle.SIMPLE, tool("f"), sid=sid)
    meta = s.meta.child("semantic", "v1", str(index))
    return SemanticPass(
        meta=meta,
        sample=s,
        model=model,
        pair_index=index,
        query=query,
        calls=(Call("f", {"x": 1}),),
        results=(CallResult(ok=True, result=2),),
        judgement=Judgement(passed=True, reasoning="ok"),
    )
