"""The use cases: load, apply the procedure's rules, persist state, audit and outbox together."""
