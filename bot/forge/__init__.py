"""The Git host: pull requests, commit statuses and pushes of goal branches (GitHub first)."""
