"""Mini-spec triggers fire on the kinds of change that need a design, and stay quiet otherwise."""

from __future__ import annotations

import pytest

from bot.sop.triggers import TRIGGER_NAMES, detect_triggers, trigger_names

POSITIVE = [
    ("migration", "We need a migration to rename the status field."),
    ("migration", "Run ALTER TABLE goals to widen the column."),
    ("migration", "Add a new column `sla_hours` to approvals."),
    ("migration", "This requires schema changes in the goals store."),
    ("migration", "Backfill the mirror paths for old goals."),
    ("migration", "Data gets migrated from v1 on deploy."),
    ("security", "Only the approver may see this, so check authorization first."),
    ("security", "Users log in with OAuth through the company IdP."),
    ("security", "Store the bot secrets in the vault."),
    ("security", "Refresh tokens must rotate daily."),
    ("security", "Encrypt the exported files at rest."),
    ("security", "The export contains PII such as emails."),
    ("security", "Check permissions before posting."),
    ("security", "Move the auth_service check into middleware."),
    ("security", "Rotate the API keys on every release."),
    ("cross_service", "Change service A and service B together."),
    ("cross_service", "The flow spans billing-service and auth-service."),
    ("cross_service", "This touches two repos at once."),
    ("cross_service", "Keep the API contract between the bot and the dashboard stable."),
    ("cross_service", "Roll it out across all services."),
    ("cross_service", "Split the notifier into a microservice."),
    ("new_dependency", "Add the httpx-retry package for backoff."),
    ("new_dependency", "We will need a new library for PDF export."),
    ("new_dependency", "Introduce a charting framework for the digest."),
    ("new_dependency", "Then pip install rich and use it."),
    ("novel_pattern", "This is the first time we run background jobs."),
    ("novel_pattern", "Introduce a queue between Slack and the builder."),
    ("novel_pattern", "Add a Redis cache in front of the index."),
    ("novel_pattern", "Set up an event bus for goal updates."),
    ("novel_pattern", "It adds a new pattern for retries."),
    ("novel_pattern", "Make the digest event-driven."),
]

NEGATIVE = [
    "Fix the typo in the README author list.",
    "The authority on phases is the SOP document.",
    "Show the author of each artifact in the header.",
    "Tokenize the brief before counting words.",
    "Limit the prompt to 4000 tokens for the model.",
    "Render the digest as a table.",
    "List the dependencies between tasks in the table.",
    "Add tests for the package loader.",
    "Change the button label to Approve.",
    "We log in the audit file every decision.",
    "Add to the queue screen a refresh button.",
    "The service replies within three seconds.",
    "Make the reminder message friendlier.",
]


@pytest.mark.parametrize(("name", "sentence"), POSITIVE)
def test_trigger_fires_on_a_sentence_that_names_it(name: str, sentence: str) -> None:
    found = {t.name: t.evidence for t in detect_triggers(sentence)}
    assert name in found, f"{name} did not fire on {sentence!r}"
    assert found[name] == sentence


@pytest.mark.parametrize("sentence", NEGATIVE)
def test_no_trigger_fires_on_ordinary_sentences(sentence: str) -> None:
    assert detect_triggers(sentence) == []


def test_every_trigger_name_has_a_positive_case() -> None:
    assert {name for name, _ in POSITIVE} == set(TRIGGER_NAMES)


def test_each_trigger_is_reported_once_in_canonical_order_with_first_evidence() -> None:
    brief = "Add a Redis cache. Also add a new column for expiry."
    thread = "Later: another migration for the cache keys. And encrypt the values."
    found = detect_triggers(brief, thread)
    assert [t.name for t in found] == ["migration", "security", "novel_pattern"]
    assert found[0].evidence == "Also add a new column for expiry."
    assert trigger_names(brief, thread) == ["migration", "security", "novel_pattern"]


def test_evidence_of_a_long_sentence_is_a_window_around_the_match() -> None:
    sentence = "word " * 80 + "then run alter table goals " + "more " * 80
    (trigger,) = detect_triggers(sentence)
    assert "alter table" in trigger.evidence
    assert len(trigger.evidence) <= 162
    assert trigger.evidence.startswith("…") and trigger.evidence.endswith("…")


def test_empty_texts_fire_nothing() -> None:
    assert detect_triggers() == []
    assert detect_triggers("", "   ") == []
