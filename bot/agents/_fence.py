"""People's and models' text inside a prompt: in a tagged block that the text itself cannot close.

A brief, a quoted thread, feedback or a task is data to work from. The prompt says so, and the data
goes between `<tag>` and `</tag>`; a `</brief>` typed into a thread would end the block early and
let what follows read as instructions, so any of our own tags inside the text is defused (`&lt;`).
"""

from __future__ import annotations

import re

DATA_TAGS = (
    "approved",
    "approved_tasks",
    "brief",
    "feedback",
    "previous_version",
    "repo_facts",
    "spec_triggers",
    "task",
    "task_title",
    "template",
    "title",
)
_OUR_TAG = re.compile(r"<(?=/?\s*(?:" + "|".join(DATA_TAGS) + r")\b)", re.IGNORECASE)


def defuse(text: str) -> str:
    """`text` with every opening or closing tag of ours made inert."""
    return _OUR_TAG.sub("&lt;", text)


def fence(tag: str, text: str, **attrs: str) -> str:
    attributes = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f"<{tag}{attributes}>\n{defuse(text.strip())}\n</{tag}>"
