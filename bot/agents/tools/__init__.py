"""The manager's tools, one per module: each module has the plain function that does the work
(usable without a model) and a factory that wraps it as an Agents SDK tool. The SDK is imported
inside the factories only, so importing a tool module stays cheap.

- `builder`: run the configured builder (offline scaffold or Codex) in the goal's worktree.
- `tester`: run the target repository's test command in the worktree, time-limited.
- `reviewer`: the diff and the task's acceptance criteria, for the reviewer agent to judge.
- `approval`: ask a person to approve the diff (needs approval: the run pauses here).
"""
