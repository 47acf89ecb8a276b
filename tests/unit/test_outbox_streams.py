"""A goal's Slack posts and repository commits run side by side between two pieces of its work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.effects.dispatcher import REPO, SLACK, WORK, split_lanes
from storage.models import Effect


def _effects(*kinds: str, **payload: Any) -> list[Effect]:
    now = datetime.now(UTC)
    return [
        Effect(id=i, key=f"e{i}", kind=k, goal_id="G-0001", payload=dict(payload), created_at=now)
        for i, k in enumerate(kinds, 1)
    ]


def _keys(lanes: dict[tuple[str | None, str], list[Effect]]) -> dict[str, list[str]]:
    return {stream: [e.key for e in run] for (_goal, stream), run in lanes.items()}


def test_posts_and_commits_before_the_next_work_each_get_a_lane_and_the_work_waits() -> None:
    effects = _effects(
        "slack.mark_decided", "repo.apply_scaffold", "repo.publish_artifact", "draft", "slack.update_card"
    )
    assert _keys(split_lanes("G-0001", effects)) == {SLACK: ["e1"], REPO: ["e2", "e3"]}


def test_work_first_in_line_runs_alone_with_the_work_right_after_it() -> None:
    effects = _effects("draft", "probe", "slack.update_card", "repo.publish_artifact")
    assert _keys(split_lanes("G-0001", effects)) == {WORK: ["e1", "e2"]}


def test_a_note_recorded_after_the_commits_waits_for_them() -> None:
    note = _effects("slack.thread_note", after_repo=True)[0]
    note.id, note.key = 2, "e2"
    effects = [_effects("repo.publish_state")[0], note]
    assert _keys(split_lanes("G-0001", effects)) == {REPO: ["e1"]}
    assert _keys(split_lanes("G-0001", [note])) == {WORK: ["e2"]}


def test_effects_of_no_goal_share_one_lane_in_order() -> None:
    effects = _effects("notify.dm", "repo.publish_state", "draft")
    assert _keys(split_lanes(None, effects)) == {WORK: ["e1", "e2", "e3"]}


# The Scaffold Check is a job recorded after the card (e1): the dispatcher is told the id its
# unfinished job follows (`held_after`), and the goal's effects recorded after that id wait for it.


def test_a_new_goals_card_is_posted_while_its_scaffold_check_runs_and_its_start_is_committed() -> None:
    effects = _effects("slack.post_card", "repo.publish_state")
    assert _keys(split_lanes("G-0001", effects)) == {SLACK: ["e1"], REPO: ["e2"]}


def test_the_start_commit_waits_for_the_scaffold_check_that_reads_the_repository() -> None:
    effects = _effects("slack.post_card", "repo.publish_state")
    now = datetime.now(UTC)
    assert _keys(split_lanes("G-0001", effects, now, held_after=1)) == {SLACK: ["e1"]}


def test_a_later_phases_draft_still_waits_for_the_posts_recorded_before_it() -> None:
    effects = _effects("slack.mark_decided", "draft", "repo.publish_artifact", phase="prd")
    assert _keys(split_lanes("G-0001", effects)) == {SLACK: ["e1"]}
