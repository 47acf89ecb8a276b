"""`python -m sandbox --port 3001 --request-url http://127.0.0.1:3000/slack/events ...`"""

from __future__ import annotations

import argparse
import logging
import os

from sandbox import Sandbox, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Slack in a box for a local bot.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument(
        "--request-url", help="the bot's Slack request URL, e.g. http://127.0.0.1:3000/slack/events"
    )
    # Defaults come from the environment so secrets need not appear on a command line.
    parser.add_argument("--signing-secret", default=os.environ.get("SLACK_SIGNING_SECRET"))
    parser.add_argument("--bot-token", default=os.environ.get("SLACK_BOT_TOKEN"))
    parser.add_argument("--trigger-ttl", type=float, default=30.0, help="seconds a trigger_id stays valid")
    parser.add_argument("--page-size", type=int, default=15, help="default `limit` of paginated methods")
    args = parser.parse_args(argv)
    if not args.signing_secret or not args.bot_token:
        parser.error(
            "--signing-secret and --bot-token are required (or SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN)"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve(
        on_ready=_announce,
        host=args.host,
        port=args.port,
        request_url=args.request_url,
        signing_secret=args.signing_secret,
        bot_token=args.bot_token,
        trigger_ttl=args.trigger_ttl,
        page_size=args.page_size,
    )


def _announce(sandbox: Sandbox) -> None:
    # The first line is machine-readable: a parent process reads the URL from it (port 0 works).
    print(f"sandbox Web API: {sandbox.api_url}", flush=True)
    print(f"delivering to:   {sandbox.request_url or '(no request URL yet)'}", flush=True)
    print(f"state:           {sandbox.base_url}/_sandbox/state", flush=True)


if __name__ == "__main__":
    main()
