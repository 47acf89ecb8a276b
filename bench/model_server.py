"""A scripted OpenAI-compatible model: `/v1/chat/completions` answers after a fixed delay.

It stands in for a real model in the parallel-goals figure: every call takes `--delay` seconds
(one "step"), then returns a valid structured answer for the phase the request's JSON schema names
(built by the offline drafter, so the product's Agents SDK path parses and renders it for real).
`python -m bench.model_server --port N --delay 1.0`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any


def _answers() -> dict[str, str]:
    """The drafter's instructions start "You draft the <label> for goal …": label → a valid answer."""
    from bot.agents import _offline_phases
    from bot.agents.drafting import OUTPUT_TYPES, DraftRequest
    from bot.agents.templates import load_template
    from bot.sop.phases import LABELS, Phase

    build = {
        Phase.PRD: _offline_phases.build_prd,
        Phase.TASK_LIST: _offline_phases.build_task_list,
        Phase.SPEC: _offline_phases.build_spec,
        Phase.ACTION_PLAN: _offline_phases.build_action_plan,
    }
    out = {}
    for phase in OUTPUT_TYPES:
        req = DraftRequest(
            goal_id="G-0001",
            title="Bench goal",
            brief="Add a CSV export of invoices.",
            phase=phase,
            template=load_template(phase),
        )
        payload = build[phase](req).model_dump(mode="json")
        payload["summary"] = f"Scripted model {phase.value} draft."
        out[LABELS[phase]] = json.dumps(payload)
    return out


def build_app(delay: float) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    answers = _answers()
    calls: list[float] = []

    async def completions(request: Request) -> Response:
        body = await request.json()
        system = " ".join(
            str(m.get("content", "")) for m in body.get("messages", []) if m.get("role") == "system"
        )
        content = next(
            (v for label, v in answers.items() if f"You draft the {label} for goal" in system), None
        )
        if content is None:
            return JSONResponse(
                {"error": {"message": "no scripted answer for these instructions"}}, status_code=400
            )
        calls.append(time.time())
        await asyncio.sleep(delay)  # one step of a model: the point of this server
        return JSONResponse(
            {
                "id": f"chatcmpl-bench-{len(calls)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "bench-model"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 100, "total_tokens": 200},
            }
        )

    async def stats(_request: Request) -> Response:
        return JSONResponse({"calls": calls})

    async def healthz(_request: Request) -> Response:
        return Response("ok")

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/stats", stats),
            Route("/healthz", healthz),
        ]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.model_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=1.0)
    args = parser.parse_args()
    uvicorn.Server(
        uvicorn.Config(
            build_app(args.delay), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
        )
    ).run()


if __name__ == "__main__":
    main()
