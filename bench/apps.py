"""The two baselines, each served by uvicorn in its own process exactly as `orch serve` is served.

- `starlette`: a bare Starlette app whose POST /slack/events returns 200: the floor for Python
  HTTP on this machine.
- `bolt`: a bare slack-bolt `AsyncApp` with default settings (signature verification on, the
  default listener runner) whose listeners only `ack()`: what any Bolt user gets for free.

`python -m bench.apps starlette|bolt --port N` (Bolt reads SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN
and SLACK_API_URL from the environment).
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def bare_starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def events(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    async def healthz(_request: Request) -> Response:
        return Response("ok")

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)])


def bare_bolt() -> Any:
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.command("/orch")
    async def orch(ack: Any) -> None:
        await ack()

    @app.action("orch_approve")
    async def approve(ack: Any) -> None:
        await ack()

    @app.event("message")
    async def message(ack: Any) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        return Response("ok")

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.apps")
    parser.add_argument("app", choices=["starlette", "bolt"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asgi = bare_starlette() if args.app == "starlette" else bare_bolt()
    # The same server settings as bot.web.serve.run_server, so only the app differs.
    uvicorn.Server(
        uvicorn.Config(
            asgi, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="on"
        )
    ).run()


if __name__ == "__main__":
    main()
