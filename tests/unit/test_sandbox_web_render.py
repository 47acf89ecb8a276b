"""The sandbox page's renderers: Slack's text formats and Block Kit as safe HTML, and who sees what."""

from __future__ import annotations

import json

from sandbox import Sandbox
from sandbox.clock import OffsetClock, describe_offset
from sandbox.markdown_html import markdown
from sandbox.mrkdwn import Directory, mrkdwn
from sandbox.web_blocks import blocks_html, files_html
from sandbox.web_page import Where, panes

D = Directory(
    users={"U_REQ": "riley", "U_APP1": "avery", "UBOT": "orch", "U123ABC": "dana"},
    channels={"C_DEV": "dev"},
    groups={"S_APPROVERS": "approvers"},
)


def test_mrkdwn_formats_like_slack() -> None:
    html = mrkdwn("*bold* _italic_ ~gone~ `x < y` and\n```a *b*\n<c>```", D)
    assert "<b>bold</b>" in html and "<i>italic</i>" in html and "<s>gone</s>" in html
    assert "<code>x &lt; y</code>" in html
    assert '<pre class="code">a *b*\n&lt;c&gt;</pre>' in html  # nothing is formatted inside a code block


def test_mrkdwn_shows_references_as_a_person_reads_them() -> None:
    html = mrkdwn("<@U123ABC> and <@U_APP1|av> in <#C_DEV> for <!subteam^S_APPROVERS> <!here>", D)
    assert "@dana" in html and "@av" in html and "#dev" in html and "@approvers" in html and "@here" in html
    assert mrkdwn("due <!date^1700000000^{date_short}|Nov 14>", D) == "due Nov 14"
    link = mrkdwn("see <https://example.com/a?b=1&amp;c=2|the docs>", D)
    assert 'href="https://example.com/a?b=1&amp;c=2"' in link and ">the docs</a>" in link


def test_bare_sandbox_ids_read_as_names_but_underscores_still_italicise() -> None:
    assert "@riley" in mrkdwn("*Requester*\nU_REQ", D)
    assert ">#dev<" in mrkdwn("in #C_DEV", D) and "##" not in mrkdwn("in #C_DEV", D)
    assert mrkdwn("_U_REQ_", D).count("@riley") == 1


def test_mrkdwn_never_lets_markup_or_script_links_through() -> None:
    html = mrkdwn("<script>alert(1)</script> &lt;img onerror=x&gt; <javascript:alert(1)|click>", D)
    assert "<script" not in html and "<img" not in html and "href" not in html
    assert "&lt;img onerror=x&gt;" in html and "click" in html


def test_markdown_blocks_render_headings_tables_tasks_and_nested_lists() -> None:
    text = (
        "# PRD\n\nSome **strong** and *soft* text with `code`.\n\n| A | B |\n|---|---|\n| 1 | <b>2</b> |\n\n"
        "- [ ] open\n- [x] done\n  - nested\n1. first\n\n> quoted\n\n```\nx = 1\n```\n[ok](https://a.b) "
        "[bad](javascript:x)"
    )
    html = markdown(text, D)
    assert "<h1>PRD</h1>" in html and "<b>strong</b>" in html and "<i>soft</i>" in html
    assert "<th>A</th>" in html and "<td>&lt;b&gt;2&lt;/b&gt;</td>" in html
    assert "☐" in html and "☑" in html and html.count("<ul>") == 2 and "<ol>" in html
    assert "<blockquote><p>quoted</p></blockquote>" in html and '<pre class="code">x = 1</pre>' in html
    assert 'href="https://a.b"' in html and "javascript" not in html.split("bad")[0][-40:]


def test_buttons_carry_their_action_style_and_confirm_dialog() -> None:
    blocks = [
        {
            "type": "actions",
            "block_id": "a",
            "elements": [
                {
                    "type": "button",
                    "action_id": "orch_approve",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                },
                {
                    "type": "button",
                    "action_id": "orch_reject",
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Reject?"},
                        "text": {"type": "plain_text", "text": "Sure?"},
                        "confirm": {"type": "plain_text", "text": "Reject"},
                        "deny": {"type": "plain_text", "text": "Keep it"},
                        "style": "danger",
                    },
                },
            ],
        }
    ]
    blocks[0]["elements"] += [
        {
            "type": "button",
            "action_id": "docs",
            "url": "https://example.com/d",
            "text": {"type": "plain_text", "text": "Docs"},
        },
        {
            "type": "button",
            "action_id": "evil",
            "url": "javascript:alert(1)",
            "text": {"type": "plain_text", "text": "Evil"},
        },
    ]
    html = blocks_html(blocks, D)
    assert 'class="bk-button primary" data-action-id="orch_approve"' in html
    assert 'data-url="https://example.com/d"' in html and "javascript" not in html
    confirm = html.split('data-confirm="')[1].split('"')[0].replace("&quot;", '"')
    assert json.loads(confirm) == {
        "title": "Reject?",
        "text": "Sure?",
        "confirm": "Reject",
        "deny": "Keep it",
        "style": "danger",
    }


def test_sections_show_fields_and_an_accessory_and_unknown_blocks_say_so() -> None:
    html = blocks_html(
        [
            {"type": "header", "text": {"type": "plain_text", "text": "G-1 <x>"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Hi*"},
                "fields": [{"type": "mrkdwn", "text": "*Phase*\nPRD"}],
                "accessory": {
                    "type": "button",
                    "action_id": "open",
                    "text": {"type": "plain_text", "text": "Open"},
                },
            },
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "v1"},
                    {"type": "image", "image_url": "https://x/y.png", "alt_text": "logo"},
                ],
            },
            {"type": "divider"},
            {"type": "video", "title": {"type": "plain_text", "text": "v"}},
        ],
        D,
    )
    assert "G-1 &lt;x&gt;" in html and '<div class="bk-field"><b>Phase</b><br>PRD</div>' in html
    assert 'data-action-id="open"' in html and "logo" in html and "https://x/y.png" not in html
    assert "[video block]" in html and '<hr class="bk-divider">' in html


def test_inputs_show_what_was_submitted_and_the_bots_errors() -> None:
    blocks = [
        {
            "type": "input",
            "block_id": "brief",
            "label": {"type": "plain_text", "text": "Brief"},
            "element": {"type": "plain_text_input", "action_id": "brief", "multiline": True, "min_length": 1},
        },
        {
            "type": "input",
            "block_id": "approvers",
            "optional": True,
            "label": {"type": "plain_text", "text": "Approvers"},
            "element": {"type": "multi_users_select", "action_id": "approvers"},
        },
        {
            "type": "input",
            "block_id": "mode",
            "label": {"type": "plain_text", "text": "Mode"},
            "element": {
                "type": "radio_buttons",
                "action_id": "mode",
                "initial_option": {"value": "b", "text": {"type": "plain_text", "text": "B"}},
                "options": [
                    {"value": "a", "text": {"type": "plain_text", "text": "A"}},
                    {"value": "b", "text": {"type": "plain_text", "text": "B"}},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "prio",
            "label": {"type": "plain_text", "text": "Priority"},
            "element": {
                "type": "static_select",
                "action_id": "prio",
                "options": [{"value": "hi", "text": {"type": "plain_text", "text": "High"}}],
            },
        },
    ]
    state = {
        "brief": {"brief": {"type": "plain_text_input", "value": "CSV <export>"}},
        "approvers": {"approvers": {"type": "multi_users_select", "selected_users": ["U_APP1"]}},
    }
    html = blocks_html(blocks, D, state=state, errors={"approvers": "Not approvers here: <@U_APP1>"})
    assert '<textarea rows="4" placeholder="" minlength="1" required>CSV &lt;export&gt;</textarea>' in html
    assert '<option value="U_APP1" selected>@avery</option>' in html and 'value="UBOT"' not in html
    assert 'class="bk-input has-error"' in html and "Not approvers here: " in html and "@avery" in html
    assert 'value="b" checked' in html and 'value="a">' in html
    assert '<option value="">Choose…</option><option value="hi">High</option>' in html


def test_files_are_snippets_with_a_download_link() -> None:
    content = "\n".join(f"line {n}" for n in range(30))
    html = files_html([{"id": "F1", "name": "a.diff", "title": "Diff <v1>", "size": 12, "content": content}])
    assert 'href="/files/F1" download="a.diff"' in html and "Diff &lt;v1&gt;" in html
    assert "line 11" in html.split("<details>")[0] and "line 12" not in html.split("<details>")[0]
    assert "Show all 30 lines" in html


def test_an_ephemeral_shows_only_to_its_person_and_threads_show_their_replies() -> None:
    sb = Sandbox(clock=OffsetClock(start=1_768_469_400))
    state = sb.state
    dev = state.channel("C_DEV")
    parent = state.post(dev, {"user": "U_REQ", "text": "parent"})
    state.post(dev, {"user": "U_APP1", "text": "a reply"}, thread_ts=parent["ts"])
    state.add_ephemeral(dev, "U_OUT", {"user": "UBOT", "text": "only for oscar"}, parent["ts"])

    oscar = panes(state, Where("U_OUT", "C_DEV", parent["ts"]))
    riley = panes(state, Where("U_REQ", "C_DEV", parent["ts"]))
    assert "only for oscar" in oscar["thread"] and "Only visible to you" in oscar["thread"]
    assert "only for oscar" not in riley["thread"] and "only for oscar" not in riley["main"]
    assert "1 reply" in riley["main"] and "a reply" in riley["thread"] and "a reply" not in riley["main"]
    assert riley["clock"] == {"now": "Thu 15 Jan 09:30 UTC", "offset": "", "movable": True}


def test_the_offset_clock_runs_and_only_moves_forward() -> None:
    ticks = iter([100.0, 100.0, 105.0, 105.0])
    clock = OffsetClock(start=1000.0, source=lambda: next(ticks))
    assert clock() == 1000.0
    clock.advance(90_000)
    assert clock() == 91_005.0 and clock.advanced == 90_000
    assert describe_offset(clock.advanced) == "+1d 1h" and describe_offset(0) == ""
    try:
        clock.advance(-1)
    except ValueError:
        pass
    else:
        raise AssertionError("the clock moved backwards")
