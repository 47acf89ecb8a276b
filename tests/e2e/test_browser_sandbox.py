"""The sandbox web page in a real browser (Debian's Chromium driven by Playwright), against the real bot.

Each test starts the local stack (sandbox + bot, SQLite, a fresh git repo, the offline drafter) and
uses the page the way a person would: typing in the message box, switching users, clicking buttons,
filling modals. Waits are Playwright's bounded waits for what the page shows; nothing sleeps.
The screenshots the README shows are saved under docs/images/.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.local.stack import LocalStack, start_local
from sandbox.clock import OffsetClock

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
START = 1_768_469_400.0  # 2026-01-15 09:30 UTC: screenshots show the same times on every run
WAIT_MS = 20_000
BRIEF = "Add a CSV export of monthly invoices. Finance downloads it from the admin page."

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed "
        "(.ci/run installs it: apt-get install chromium chromium-driver)",
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
)
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    with start_local(workdir=tmp_path, clock=OffsetClock(start=START)) as running:
        yield running


@pytest.fixture
def page(browser: sync_api.Browser, stack: LocalStack) -> Iterator[sync_api.Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.goto(stack.url + "?user=U_REQ&channel=C_DEV")
    # A marker on the window: if the page ever reloaded, it would be gone.
    opened.evaluate("window.__sameDocument = true")
    yield opened
    assert opened.evaluate("window.__sameDocument === true"), "the page reloaded; updates must arrive live"
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def act_as(page: sync_api.Page, user_id: str) -> None:
    """Switch users and wait until the page shows the workspace as that person (their own DM)."""
    page.select_option("#user-switcher", user_id)
    expect(page.locator(f'#sidebar .nav-item[data-channel="D{user_id[1:]}"]')).to_have_count(1)


def send(page: sync_api.Page, text: str, box: str = "#composer-text") -> None:
    page.fill(box, text)
    page.press(box, "Enter")
    expect(page.locator(box)).to_have_value("")


def start_goal(page: sync_api.Page) -> sync_api.Locator:
    """riley types `/orch start …`; the goal card appears in #dev and its thread opens."""
    send(page, f"/orch start {BRIEF}")
    card = page.locator("#main-pane .msg", has_text="G-0001")
    expect(card).to_contain_text("Add a CSV export of monthly invoices")
    card.locator(".thread-link").click()
    expect(page.locator("#thread-pane")).to_contain_text("G-0001")
    return card


def pending(page: sync_api.Page) -> sync_api.Locator:
    """Artifacts in the open thread still waiting for a decision."""
    return page.locator("#thread-pane .msg").filter(has=page.get_by_role("button", name="Approve"))


def save(page: sync_api.Page, name: str) -> Path:
    """A screenshot for the README, without the hover menu the last click left behind."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / name
    page.mouse.move(1, 1)
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


def test_a_goal_from_the_message_box_is_approved_through_every_phase_by_two_people(
    page: sync_api.Page, stack: LocalStack
) -> None:
    card = start_goal(page)
    thread = page.locator("#thread-pane")
    expect(pending(page)).to_have_count(1)

    # oscar is no approver: his click is refused in a message only he can see.
    act_as(page, "U_OUT")
    pending(page).last.get_by_role("button", name="Approve").click()
    refusal = thread.locator(".msg.ephemeral")
    expect(refusal).to_contain_text("You are not an approver")
    expect(refusal).to_contain_text("Only visible to you")
    act_as(page, "U_REQ")
    expect(thread.locator(".msg.ephemeral")).to_have_count(0)

    # Reject asks for confirmation first; "Keep it" sends nothing.
    act_as(page, "U_APP1")
    pending(page).last.get_by_role("button", name="Reject").click()
    dialog = page.locator("dialog#confirm")
    expect(dialog).to_contain_text("Reject?")
    dialog.get_by_role("button", name="Keep it").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".modal")).to_have_count(0)

    # avery asks for changes to the PRD through the feedback modal; v2 arrives in the thread.
    approvers = ["U_APP1", "U_APP2"]
    clicks, asked = 0, False
    for _ in range(12):
        page.wait_for_function(
            "() => document.querySelector('#thread-pane').innerText.includes('is done:') || "
            "[...document.querySelectorAll('#thread-pane .msg')].some(m => [...m.querySelectorAll('button')]"
            ".some(b => b.textContent === 'Approve'))"
        )
        if "is done:" in thread.inner_text():
            break
        artifact = pending(page).last
        ts = artifact.get_attribute("data-ts")
        title = artifact.locator(".bk-header").first.inner_text()
        if title.startswith("PRD v1") and not asked:
            act_as(page, "U_APP1")
            artifact.get_by_role("button", name="Request changes").click()
            modal = page.locator(".modal")
            expect(modal).to_contain_text("What should change?")
            modal.locator("textarea").fill(
                "Also say which columns the CSV has and how amounts are formatted."
            )
            save(page, "sandbox-modal.png")
            modal.get_by_role("button", name="Send").click()
            expect(page.locator(".modal")).to_have_count(0)
            expect(thread).to_contain_text("PRD v2 for G-0001")
            expect(thread).to_contain_text("Changes requested by @avery")
            newest = pending(page).last
            expect(newest).to_contain_text("PRD v2")
            newest.evaluate("el => el.scrollIntoView({block: 'end'})")
            save(page, "sandbox-goal-thread.png")
            asked = True
        else:
            act_as(page, approvers[clicks % 2])
            artifact.get_by_role("button", name="Approve").click()
            clicks += 1
        # chat.update replaces the buttons in place with who decided; no reload needed.
        decided = thread.locator(f'.msg[data-ts="{ts}"]')
        expect(decided.get_by_role("button", name="Approve")).to_have_count(0)
    expect(thread).to_contain_text("G-0001 is done")
    assert asked and clicks >= 5
    expect(thread).to_contain_text(re.compile(r"Approved by @(avery|blake)"))
    expect(card).to_contain_text("Done")

    stack.bot.drain()  # the last commits are effects that may still be running
    log = subprocess.run(
        ["git", "-C", str(stack.repo), "log", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    assert "goal done" in log and "approve PRD v2" in log, log
    assert "changes requested on PRD v1" in log, log
    thread.locator(".messages").evaluate("el => el.scrollTop = el.scrollHeight")
    save(page, "sandbox-goal-done.png")


def test_the_start_modal_shows_the_bots_validation_errors_next_to_the_field(
    page: sync_api.Page, stack: LocalStack
) -> None:
    send(page, "/orch start")
    modal = page.locator(".modal")
    expect(modal).to_contain_text("Start a goal")
    modal.locator('[data-block-id="title"] input').fill("CSV export of invoices")
    modal.locator('[data-block-id="brief"] textarea').fill(BRIEF)
    modal.locator('[data-block-id="approvers"] select').select_option(["U_OUT"])
    modal.locator('[data-block-id="priority"] select').select_option("high")
    modal.get_by_role("button", name="Start").click()

    error = modal.locator('[data-block-id="approvers"] .bk-error')
    expect(error).to_contain_text("Not approvers here: @oscar")
    # What was typed stays, as in Slack's client.
    expect(modal.locator('[data-block-id="brief"] textarea')).to_have_value(BRIEF)
    save(page, "sandbox-start-modal-errors.png")

    modal.locator('[data-block-id="approvers"] select').select_option(["U_APP2"])
    modal.get_by_role("button", name="Start").click()
    expect(page.locator(".modal")).to_have_count(0)
    expect(page.locator("#main-pane .msg", has_text="G-0001")).to_contain_text("CSV export of invoices")


def test_the_app_home_shows_an_approver_what_waits_for_them(page: sync_api.Page, stack: LocalStack) -> None:
    start_goal(page)
    expect(pending(page)).to_have_count(1)
    act_as(page, "U_APP2")
    page.locator(".nav-item.home").click()
    home = page.locator(".home-view")
    expect(home).to_contain_text("Waiting for your approval")
    expect(home).to_contain_text("G-0001")
    expect(page.locator("#composer")).to_be_hidden()
    save(page, "sandbox-app-home.png")


def test_a_thread_becomes_a_goal_from_the_message_menu_and_mentions_reach_the_bot(
    page: sync_api.Page, stack: LocalStack
) -> None:
    page.locator(".nav-item", has_text="general").click()
    expect(page.locator("#main-pane h2")).to_have_text("#general")
    send(page, "Finance keeps asking for a CSV export of the monthly invoices from the admin page.")
    message = page.locator("#main-pane .msg", has_text="Finance keeps asking")
    message.hover()
    message.locator(".more").click()
    page.get_by_role("button", name="Start goal from thread").click()
    # The goal lives in that thread: its card and first artifact arrive as replies.
    message.locator(".thread-link").click()
    expect(page.locator("#thread-pane")).to_contain_text("G-0001")
    expect(pending(page)).to_have_count(1)

    # `@orch` typed in the box becomes a real mention: the bot answers with its help, to riley only.
    send(page, "@orch what can you do?")
    expect(page.locator("#main-pane .msg.ephemeral")).to_contain_text("/orch start")

    # A DM with the app: the reply arrives without a reload.
    page.locator(".nav-item", has_text="orch").last.click()
    send(page, "hello")
    expect(page.locator("#main-pane .msg", has_text="I work in channels")).to_be_visible()


def test_moving_the_sandbox_clock_a_day_brings_sla_reminders_to_the_approvers(
    page: sync_api.Page, stack: LocalStack
) -> None:
    start_goal(page)
    expect(pending(page)).to_have_count(1)
    act_as(page, "U_APP1")
    expect(page.locator("#clock-now")).to_have_text("Thu 15 Jan 09:30 UTC")
    page.get_by_role("button", name="+1 day").click()
    expect(page.locator("#clock-now")).to_have_text("Fri 16 Jan 09:30 UTC")
    expect(page.locator("#clock-offset")).to_have_text("+1d")
    # The bot reads the same clock: its SLA sweep finds the gate a day late and DMs the approvers.
    assert stack.bot.container.clock().strftime("%d %b") == "16 Jan"
    dm = page.locator('.nav-item[data-channel="D_APP1"]')
    expect(dm).to_have_class(re.compile(r"\bunread\b"))
    dm.click()
    reminder = page.locator("#main-pane .msg", has_text="Waiting for your decision")
    expect(reminder).to_contain_text("It has waited 1d")
    save(page, "sandbox-sla-reminder.png")

    # Approving from the reminder decides the gate in the goal's thread.
    reminder.get_by_role("button", name="Approve").click()
    page.locator('.nav-item[data-channel="C_DEV"]').click()
    page.locator("#main-pane .msg", has_text="G-0001").locator(".thread-link").click()
    expect(page.locator("#thread-pane")).to_contain_text("Approved by @avery")
