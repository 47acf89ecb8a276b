"""Drafting and building with or without a model.

- `drafting`: the request/response contract (`DraftRequest`, `Draft`, `Drafter`) and the
  per-phase output types (`PrdDraft`, `TaskListDraft`, `SpecDraft`, `ActionPlanDraft`).
- `templates`: phase templates (repository overrides first) and filling them.
- `offline`: `OfflineDrafter`, deterministic and labelled, no model needed.
- `sdk`: `AgentsDrafter` on the OpenAI Agents SDK, and `make_drafter(settings)`.
- `offline_builder`: `OfflineBuilder`, an honest scaffold for a task in a worktree.

Nothing is imported here: importing the Agents SDK is slow, and only `sdk` needs it, lazily.
"""
