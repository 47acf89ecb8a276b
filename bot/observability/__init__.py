"""The observability room: what the product says about itself.

Redacted JSON logs with the request, actor and goal bound (`logging.py`), OpenTelemetry spans
(`tracing.py`), the run records of agent work (`runs.py`) and their model usage and prices
(`usage.py`), and the success metrics: computed (`metrics.py`, from `metrics_inputs.py`) and
presented (`metrics_report.py`). `storage_health.py` tells `/healthz` whether the process can
still store what it is asked.
"""
