"""Learning assets: harvest a repository's conventions into `patterns/` and `adapters/` of the target.

`harvest` reads known configuration files (deterministic, offline); `proposal` turns the result
into a branch that is merged only when an approver approves it; `index` keeps
`patterns/index.json`; `adapters` reads what the builder and tester need back; `service` holds the
use cases the CLI and Slack call. See `layout.README` for the documented layout.
"""
