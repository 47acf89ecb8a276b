"""The web room: what runs in the bot's serving processes.

The HTTP front door (`server.py`, started by `http_server.py`), the Bolt app and its prompt-ack
runner (`bolt.py`, `bolt_runner.py`), Socket Mode (`socket_mode.py`), `orch serve` (`serve.py`),
the inbox worker of a web/worker split (`inbox_worker.py`), the loop that runs the outbox and the
jobs beside them (`background.py`) and the shape checks of Slack requests (`slack_shape.py`).
"""
