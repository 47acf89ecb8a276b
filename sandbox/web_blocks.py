"""Block Kit as HTML for the web page: message blocks, interactive elements, modal inputs and files.

Pure functions from Slack's JSON to escaped HTML. Buttons carry their action_id and confirm dialog
in data attributes; the page's script finds the message or view they sit in and asks the sandbox
to deliver the click. Inputs carry their block_id/action_id so the script can build the values a
submission sends. A modal re-rendered after `response_action: errors` shows what was typed (from
the view's `state.values`) with the errors next to the inputs, as Slack's client does.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.blocks import text_of
from sandbox.markdown_html import markdown
from sandbox.mrkdwn import Directory, esc, is_safe_url, link, mrkdwn, text_html
from sandbox.state import BOT_USER_ID, SLACKBOT_ID

_TEXT_INPUTS = {
    "plain_text_input": "text",
    "email_text_input": "email",
    "url_text_input": "url",
    "number_input": "number",
    "datepicker": "date",
    "timepicker": "time",
}
_SNIPPET_LINES = 12


def attr(value: Any) -> str:
    return esc(value if isinstance(value, str) else json.dumps(value))


def blocks_html(
    blocks: list[dict[str, Any]] | None,
    d: Directory,
    *,
    state: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    """A message's, modal's or Home tab's blocks; `state`/`errors` only matter for input blocks."""
    return "".join(_safe_block(b, d, state or {}, errors or {}) for b in blocks or [] if isinstance(b, dict))


def _safe_block(block: dict[str, Any], d: Directory, state: dict[str, Any], errors: dict[str, str]) -> str:
    # The page shows whatever an app sent; one odd block must not blank the whole pane.
    try:
        return block_html(block, d, state, errors)
    except Exception as exc:
        kind = esc(str(block.get("type")))
        return f'<div class="bk-unknown">[this {kind} block could not be shown: {esc(repr(exc))}]</div>'


def block_html(block: dict[str, Any], d: Directory, state: dict[str, Any], errors: dict[str, str]) -> str:
    kind = block.get("type")
    bid = attr(block.get("block_id", ""))
    if kind == "header":
        return f'<div class="bk-header" data-block-id="{bid}">{text_html(block.get("text"), d)}</div>'
    if kind == "section":
        return _section(block, d)
    if kind == "context":
        parts = "".join(_context_element(e, d) for e in block.get("elements", []))
        return f'<div class="bk-context" data-block-id="{bid}">{parts}</div>'
    if kind == "divider":
        return '<hr class="bk-divider">'
    if kind in ("actions", "context_actions"):
        parts = "".join(element_html(e, d) for e in block.get("elements", []))
        return f'<div class="bk-actions" data-block-id="{bid}">{parts}</div>'
    if kind == "markdown":
        return f'<div class="bk-markdown md">{markdown(str(block.get("text", "")), d)}</div>'
    if kind == "rich_text":
        return f'<div class="bk-rich">{"".join(_rich(e, d) for e in block.get("elements", []))}</div>'
    if kind == "image":
        title = text_html(block.get("title"), d) if block.get("title") else ""
        return f'<div class="bk-image">{title}{_image(block)}</div>'
    if kind == "input":
        return input_html(block, d, state, errors)
    return f'<div class="bk-unknown">[{esc(str(kind))} block]</div>'


def _section(block: dict[str, Any], d: Directory) -> str:
    main = f'<div class="bk-text">{text_html(block["text"], d)}</div>' if block.get("text") else ""
    if block.get("fields"):
        fields = "".join(f'<div class="bk-field">{text_html(f, d)}</div>' for f in block["fields"])
        main += f'<div class="bk-fields">{fields}</div>'
    accessory = block.get("accessory")
    side = (
        f'<div class="bk-accessory">{element_html(accessory, d)}</div>' if isinstance(accessory, dict) else ""
    )
    bid = attr(block.get("block_id", ""))
    return f'<div class="bk-section" data-block-id="{bid}"><div class="bk-main">{main}</div>{side}</div>'


def _context_element(element: Any, d: Directory) -> str:
    if isinstance(element, dict) and element.get("type") == "image":
        return _image(element, small=True)
    return f"<span>{text_html(element, d)}</span>"


def _image(element: dict[str, Any], small: bool = False) -> str:
    # Images are never fetched: the page must load nothing from the internet. Show the alt text.
    alt = esc(str(element.get("alt_text", "image")))
    return f'<span class="bk-img{" small" if small else ""}" title="{alt}">🖼 {alt}</span>'


def element_html(element: dict[str, Any], d: Directory) -> str:
    """An interactive element outside an input block (a message, Home tab or modal button)."""
    kind = element.get("type")
    if kind == "button":
        style = element.get("style", "")
        data = f' data-action-id="{attr(element.get("action_id", ""))}"'
        if element.get("confirm"):
            data += f' data-confirm="{attr(_confirm(element["confirm"]))}"'
        if is_safe_url(str(element.get("url") or "")):  # a link button opens only http(s) and mailto
            data += f' data-url="{attr(element["url"])}"'
        label = esc(text_of(element.get("text")))
        return f'<button type="button" class="bk-button {esc(style)}"{data}>{label}</button>'
    if kind == "image":
        return _image(element)
    if kind == "overflow":
        return '<button type="button" class="bk-button" disabled title="overflow menus are not clickable here">⋯</button>'
    placeholder = text_of(element.get("placeholder")) or text_of(
        element.get("initial_option", {}).get("text")
    )
    return f'<span class="bk-select disabled">{esc(placeholder or str(kind))} ▾</span>'


def _confirm(confirm: dict[str, Any]) -> dict[str, str]:
    return {
        "title": text_of(confirm.get("title")) or "Are you sure?",
        "text": text_of(confirm.get("text")),
        "confirm": text_of(confirm.get("confirm")) or "Yes",
        "deny": text_of(confirm.get("deny")) or "Cancel",
        "style": str(confirm.get("style", "primary")),
    }


# -- rich_text ------------------------------------------------------------------------------------


def _rich(element: dict[str, Any], d: Directory) -> str:
    kind = element.get("type")
    inner = "".join(_rich_inline(e, d) for e in element.get("elements", []) if isinstance(e, dict))
    if kind == "rich_text_section":
        return f"<div>{inner}</div>"
    if kind == "rich_text_preformatted":
        return f'<pre class="code">{inner}</pre>'
    if kind == "rich_text_quote":
        return f"<blockquote>{inner}</blockquote>"
    if kind == "rich_text_list":
        tag = "ol" if element.get("style") == "ordered" else "ul"
        items = "".join(f"<li>{_rich_inline_all(e, d)}</li>" for e in element.get("elements", []))
        return f'<{tag} class="indent-{int(element.get("indent", 0))}">{items}</{tag}>'
    return inner


def _rich_inline_all(section: dict[str, Any], d: Directory) -> str:
    return "".join(_rich_inline(e, d) for e in section.get("elements", []) if isinstance(e, dict))


def _rich_inline(e: dict[str, Any], d: Directory) -> str:
    kind = e.get("type")
    if kind == "text":
        out = esc(str(e.get("text", ""))).replace("\n", "<br>")
    elif kind == "link":
        out = link(str(e.get("url", "")), str(e.get("text") or e.get("url", "")))
    elif kind == "user":
        out = f'<span class="mention user">@{esc(d.user(str(e.get("user_id", ""))))}</span>'
    elif kind == "channel":
        name = d.channels.get(str(e.get("channel_id", "")), str(e.get("channel_id", "")))
        out = f'<span class="mention channel">#{esc(name)}</span>'
    elif kind == "usergroup":
        out = f'<span class="mention group">@{esc(d.groups.get(str(e.get("usergroup_id", "")), "group"))}</span>'
    elif kind == "broadcast":
        out = f'<span class="mention special">@{esc(str(e.get("range", "here")))}</span>'
    elif kind == "emoji":
        out = esc(_emoji(e))
    else:
        out = esc(str(e.get("text", "")))
    style = e.get("style") or {}
    for flag, tag in (("code", "code"), ("bold", "b"), ("italic", "i"), ("strike", "s")):
        if style.get(flag):
            out = f"<{tag}>{out}</{tag}>"
    return out


def _emoji(e: dict[str, Any]) -> str:
    try:
        return "".join(chr(int(part, 16)) for part in str(e["unicode"]).split("-"))
    except (KeyError, ValueError, OverflowError):
        return f":{e.get('name', '')}:"


# -- modal inputs -----------------------------------------------------------------------------


def input_html(block: dict[str, Any], d: Directory, state: dict[str, Any], errors: dict[str, str]) -> str:
    element = block.get("element") or {}
    block_id, action_id = str(block.get("block_id", "")), str(element.get("action_id", ""))
    kind = str(element.get("type", ""))
    current = (state.get(block_id) or {}).get(action_id)
    optional = bool(block.get("optional"))
    label = esc(text_of(block.get("label")))
    tail = ' <span class="optional">(optional)</span>' if optional else ""
    control = _control(element, kind, current, d, required=not optional, name=f"{block_id}/{action_id}")
    hint = f'<div class="bk-hint">{text_html(block["hint"], d)}</div>' if block.get("hint") else ""
    error = (
        f'<div class="bk-error" role="alert">{mrkdwn(errors[block_id], d)}</div>'
        if block_id in errors
        else ""
    )
    data = (
        f'data-block-id="{attr(block_id)}" data-action-id="{attr(action_id)}" data-type="{attr(kind)}"'
        f' data-optional="{int(optional)}" data-label="{label}"'
    )
    cls = "bk-input has-error" if error else "bk-input"
    return f'<div class="{cls}" {data}><label>{label}{tail}</label>{control}{error}{hint}</div>'


def _options(element: dict[str, Any]) -> list[tuple[str | None, list[dict[str, Any]]]]:
    groups: list[tuple[str | None, list[dict[str, Any]]]] = [(None, list(element.get("options") or []))]
    for group in element.get("option_groups") or []:
        groups.append((text_of(group.get("label")), list(group.get("options") or [])))
    return groups


def _selected(kind: str, element: dict[str, Any], current: dict[str, Any] | None) -> set[str]:
    """The values shown as chosen: what was submitted last, else the element's initial value."""
    if current:
        for key in ("selected_option", "selected_user", "selected_conversation", "selected_channel"):
            if current.get(key):
                value = current[key]
                return {value["value"] if isinstance(value, dict) else str(value)}
        for key in ("selected_options", "selected_users", "selected_conversations", "selected_channels"):
            if current.get(key):
                return {o["value"] if isinstance(o, dict) else str(o) for o in current[key]}
        return set()
    if element.get("initial_option"):
        return {str(element["initial_option"].get("value"))}
    if element.get("initial_options"):
        return {str(o.get("value")) for o in element["initial_options"]}
    for key in ("initial_user", "initial_conversation", "initial_channel"):
        if element.get(key):
            return {str(element[key])}
    for key in ("initial_users", "initial_conversations", "initial_channels"):
        if element.get(key):
            return {str(v) for v in element[key]}
    return set()


def _control(
    element: dict[str, Any],
    kind: str,
    current: dict[str, Any] | None,
    d: Directory,
    *,
    required: bool,
    name: str,
) -> str:
    req = " required" if required else ""
    placeholder = esc(text_of(element.get("placeholder")))
    if kind in _TEXT_INPUTS or kind == "rich_text_input":
        value = current.get("value") if current else None
        if value is None:
            value = element.get("initial_value", element.get("initial_date", element.get("initial_time")))
        value = "" if value is None or isinstance(value, dict) else str(value)
        limits = "".join(
            f' {html_name}="{int(element[key])}"'
            for key, html_name in (("min_length", "minlength"), ("max_length", "maxlength"))
            if element.get(key)
        )
        if element.get("multiline") or kind == "rich_text_input":
            return f'<textarea rows="4" placeholder="{placeholder}"{limits}{req}>{esc(value)}</textarea>'
        return (
            f'<input type="{_TEXT_INPUTS.get(kind, "text")}" value="{esc(value)}" '
            f'placeholder="{placeholder}"{limits}{req}>'
        )
    chosen = _selected(kind, element, current)
    if kind in ("radio_buttons", "checkboxes"):
        box = "radio" if kind == "radio_buttons" else "checkbox"
        items = []
        for _, options in _options(element):
            for o in options:
                value = str(o.get("value", ""))
                desc = o.get("description")
                note = f'<span class="desc">{text_html(desc, d)}</span>' if desc else ""
                on = " checked" if value in chosen else ""
                items.append(
                    f'<label class="choice"><input type="{box}" name="{attr(name)}" value="{attr(value)}"{on}>'
                    f"<span>{text_html(o.get('text'), d)}{note}</span></label>"
                )
        return f'<div class="choices">{"".join(items)}</div>'
    multiple = kind.startswith("multi_")
    base = kind.removeprefix("multi_")
    groups: list[tuple[str | None, list[dict[str, Any]]]]
    if base == "users_select":
        groups = [
            (
                None,
                [
                    {"value": uid, "text": {"text": f"@{n}"}}
                    for uid, n in d.users.items()
                    if uid not in (BOT_USER_ID, SLACKBOT_ID)
                ],
            )
        ]
    elif base in ("conversations_select", "channels_select"):
        groups = [(None, [{"value": cid, "text": {"text": f"#{n}"}} for cid, n in d.channels.items()])]
    else:
        groups = _options(element)
    html_options = [] if multiple else [f'<option value="">{placeholder or "Choose…"}</option>']
    for group_label, options in groups:
        rendered = "".join(
            f'<option value="{attr(str(o.get("value", "")))}"{" selected" if str(o.get("value")) in chosen else ""}>'
            f"{esc(text_of(o.get('text')))}</option>"
            for o in options
        )
        html_options.append(
            f'<optgroup label="{attr(group_label)}">{rendered}</optgroup>' if group_label else rendered
        )
    size = f' size="{min(6, max(2, sum(len(o) for _, o in groups)))}"' if multiple else ""
    multi = " multiple" if multiple else ""
    return f'<select{multi}{size} data-placeholder="{placeholder}"{req}>{"".join(html_options)}</select>'


# -- files ------------------------------------------------------------------------------------


def files_html(files: list[dict[str, Any]] | None) -> str:
    """Uploaded files as snippets: a title, a download link and the first lines of the text."""
    out = []
    for f in files or []:
        name = str(f.get("name", "file"))
        content = str(f.get("content") or f.get("preview") or "")
        lines = content.split("\n")
        head = "\n".join(lines[:_SNIPPET_LINES])
        more = ""
        if len(lines) > _SNIPPET_LINES:
            more = (
                f"<details><summary>Show all {len(lines)} lines</summary>"
                f'<pre class="code">{esc(content)}</pre></details>'
            )
        href = f"/files/{attr(str(f.get('id', '')))}"
        out.append(
            f'<div class="file"><div class="file-head"><span class="file-icon">📄</span>'
            f'<span class="file-title">{esc(str(f.get("title") or name))}</span>'
            f'<span class="file-meta">{esc(name)} · {int(f.get("size", 0))} bytes</span>'
            f'<a class="file-download" href="{href}" download="{attr(name)}">Download</a></div>'
            f'<pre class="code snippet">{esc(head)}</pre>{more}</div>'
        )
    return "".join(out)
