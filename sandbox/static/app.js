// The sandbox page's script: navigation, the message box, clicks, modals and live updates.
// The server renders every pane; this script only asks for them again when the workspace changes
// (server-sent events) and swaps in the ones that differ, so what is typed is never lost.
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const boot = JSON.parse($("#boot").textContent);
  const where = { user: boot.user, channel: boot.channel, thread: boot.thread, home: boot.home };
  const shown = { sidebar: null, main: null, thread: null, modal: $("#modal-root").dataset.key || "" };
  const seen = {}; // per user and channel: the newest ts the person has had on screen

  const dmOf = (user) => "D" + (user.startsWith("U") ? user.slice(1) : user);

  function query() {
    const p = new URLSearchParams({ user: where.user, channel: where.channel });
    if (where.thread) p.set("thread", where.thread);
    if (where.home) p.set("home", "1");
    return p;
  }

  function toast(text, kind = "info") {
    const el = document.createElement("div");
    el.className = `toast ${kind}`;
    el.textContent = text;
    $("#toasts").appendChild(el);
    setTimeout(() => el.remove(), 6000);
  }

  async function post(path, body) {
    let data = null;
    let status = 0;
    try {
      const res = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      status = res.status;
      data = await res.json();
    } catch (err) {
      data = null;
    }
    if (!data || !data.ok) {
      toast((data && (data.detail || data.error)) || `The sandbox answered HTTP ${status}`, "error");
      return null;
    }
    const delivery = data.result && (data.result.delivery || data.result);
    if (delivery && delivery.status && delivery.status >= 300) {
      toast(`The app answered HTTP ${delivery.status}`, "error");
    }
    refresh();
    return data.result || {};
  }

  // -- live panes -------------------------------------------------------------------------------

  let inflight = false;
  let again = false;

  async function refresh() {
    if (inflight) {
      again = true;
      return;
    }
    inflight = true;
    try {
      const asked = query().toString();
      const res = await fetch("/_web/panes?" + asked, { cache: "no-store" });
      const panes = res.ok ? await res.json() : null;
      // A click or a user switch may have moved the person elsewhere meanwhile: then ask again.
      if (panes && asked === query().toString()) apply(panes);
      else again = true;
    } catch (err) {
      // The server is restarting or gone; the event stream reconnects and triggers a refresh.
    } finally {
      inflight = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  function nearBottom(el) {
    return !el || el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }

  function swap(pane, html, key) {
    if (shown[key] === html) return;
    const list = $(".messages", pane);
    const stick = nearBottom(list) || shown[key] === null;
    const top = list ? list.scrollTop : 0;
    pane.innerHTML = html;
    shown[key] = html;
    const fresh = $(".messages", pane);
    if (fresh) fresh.scrollTop = stick ? fresh.scrollHeight : top;
  }

  function apply(p) {
    Object.assign(where, p.where); // the server's choice when a channel or person was unknown
    $("#user-switcher").value = where.user;
    history.replaceState(null, "", "/?" + query());
    swap($("#sidebar"), p.sidebar, "sidebar");
    markUnread();
    swap($("#main-pane"), p.main, "main");
    $("#thread-panel").classList.toggle("hidden", !p.thread);
    swap($("#thread-pane"), p.thread, "thread");
    const root = $("#modal-root");
    if (p.modal.key !== shown.modal) {
      root.innerHTML = p.modal.html;
      root.dataset.key = shown.modal = p.modal.key;
      const first = $(".modal input:not([type=radio]):not([type=checkbox]), .modal textarea, .modal select", root);
      if (first && !$(".bk-input.has-error", root)) first.focus();
    }
    $("#clock-now").textContent = p.clock.now;
    $("#clock-offset").textContent = p.clock.offset;
    $$("[data-advance]").forEach((b) => (b.disabled = !p.clock.movable));
    $("#composer").classList.toggle("hidden", where.home);
    const here = $("#main-pane h2");
    $("#composer-text").placeholder = "Message " + (here ? here.textContent.trim() : "");
  }

  function markUnread() {
    const mine = (seen[where.user] = seen[where.user] || {});
    $$(".nav-item[data-channel]").forEach((item) => {
      const latest = parseFloat(item.dataset.latest || "0");
      const id = item.dataset.channel;
      if ((!where.home && id === where.channel) || !(id in mine)) mine[id] = latest;
      item.classList.toggle("unread", latest > mine[id]);
    });
  }

  // -- acting -----------------------------------------------------------------------------------

  function go(change) {
    Object.assign(where, change);
    shown.main = shown.thread = null;
    refresh();
  }

  function confirmDialog(c) {
    const dialog = $("#confirm");
    $("#confirm-title").textContent = c.title;
    $("#confirm-text").textContent = c.text;
    $("#confirm-ok").textContent = c.confirm;
    $("#confirm-ok").className = "bk-button " + (c.style === "danger" ? "danger" : "primary");
    $("#confirm-deny").textContent = c.deny;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
  }

  async function clickButton(button) {
    if (button.dataset.confirm && !(await confirmDialog(JSON.parse(button.dataset.confirm)))) return;
    if (button.dataset.url) window.open(button.dataset.url, "_blank", "noopener");
    const body = { user: where.user, action_id: button.dataset.actionId };
    const msg = button.closest(".msg");
    const modal = button.closest(".modal");
    const home = button.closest(".home-view");
    if (msg) Object.assign(body, { channel: msg.dataset.channel, ts: msg.dataset.ts, ephemeral: msg.dataset.ephemeral === "1" });
    else if (modal) Object.assign(body, { view_id: modal.dataset.viewId, values: collect(modal, false).values });
    else if (home) body.view_id = home.dataset.viewId;
    else return;
    button.disabled = true;
    try {
      await post("/_sandbox/click", body);
    } finally {
      button.disabled = false;
    }
  }

  function inputValue(div) {
    const type = div.dataset.type;
    if (type === "radio_buttons") {
      const on = $("input:checked", div);
      return on ? on.value : null;
    }
    if (type === "checkboxes") {
      const on = $$("input:checked", div).map((i) => i.value);
      return on.length ? on : null;
    }
    const select = $("select", div);
    if (select && select.multiple) {
      const on = Array.from(select.selectedOptions).map((o) => o.value);
      return on.length ? on : null;
    }
    if (select) return select.value || null;
    const field = $("input, textarea", div);
    return field ? field.value : null;
  }

  // The values a submission sends, {block_id: {action_id: value}}, and what Slack's own client
  // would refuse before sending (a required input left empty, text shorter than its minimum).
  function collect(form, check = true) {
    const values = {};
    let ok = true;
    $$(".bk-error.client", form).forEach((e) => e.remove());
    $$(".bk-input", form).forEach((div) => {
      const value = inputValue(div);
      const field = $("input:not([type=radio]):not([type=checkbox]), textarea", div);
      let problem = null;
      if ((value === null || value === "") && div.dataset.optional !== "1") problem = "Please complete this required field.";
      else if (field && value && field.minLength > 0 && value.length < field.minLength) problem = `Use at least ${field.minLength} characters.`;
      if (check && problem) {
        ok = false;
        const note = document.createElement("div");
        note.className = "bk-error client";
        note.textContent = problem;
        div.appendChild(note);
        return;
      }
      if (value === null) return;
      values[div.dataset.blockId] = { [div.dataset.actionId]: value };
    });
    return { ok, values };
  }

  async function send(text, threadTs, box) {
    if (!text.trim()) return;
    const result = await post("/_web/send", { user: where.user, channel: where.channel, text, thread_ts: threadTs });
    if (result && box) box.value = "";
  }

  function openMenu(button) {
    const msg = button.closest(".msg");
    const menu = $("#menu");
    menu.innerHTML = "";
    const add = (label, run) => {
      const item = document.createElement("button");
      item.type = "button";
      item.className = "menu-item";
      item.textContent = label;
      item.addEventListener("click", () => {
        menu.classList.add("hidden");
        run();
      });
      menu.appendChild(item);
    };
    const threadTs = msg.dataset.threadTs || msg.dataset.ts;
    add("Reply in thread", () => go({ channel: msg.dataset.channel, thread: threadTs }));
    boot.shortcuts.forEach((s) =>
      add(s.name, () => post("/_web/shortcut", { user: where.user, channel: msg.dataset.channel, ts: msg.dataset.ts, callback_id: s.callback_id })),
    );
    const box = button.getBoundingClientRect();
    menu.style.top = `${box.bottom + window.scrollY + 4}px`;
    menu.style.left = `${Math.max(8, box.right - 220)}px`;
    menu.classList.remove("hidden");
  }

  document.addEventListener("click", (event) => {
    const t = event.target.closest("a, button");
    if (!t) {
      $("#menu").classList.add("hidden");
      return;
    }
    if (!t.classList.contains("more") && !t.classList.contains("menu-item")) $("#menu").classList.add("hidden");
    if (t.matches(".nav-item[data-home]")) {
      event.preventDefault();
      go({ home: true, thread: null });
      post("/_sandbox/open_home", { user: where.user });
    } else if (t.matches(".nav-item[data-channel]")) {
      event.preventDefault();
      go({ channel: t.dataset.channel, home: false, thread: null });
    } else if (t.matches(".thread-link")) {
      event.preventDefault();
      go({ channel: t.closest(".msg").dataset.channel, thread: t.dataset.thread });
    } else if (t.matches(".close-thread")) {
      go({ thread: null });
    } else if (t.matches(".more")) {
      openMenu(t);
    } else if (t.matches(".modal-close, .modal-x")) {
      post("/_sandbox/close_view", { user: where.user });
    } else if (t.matches("[data-advance]")) {
      post("/_web/clock", { seconds: Number(t.dataset.advance) });
    } else if (t.matches(".bk-button[data-action-id]")) {
      clickButton(t);
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.getAttribute("method") === "dialog") return; // the confirm dialog closes itself
    event.preventDefault();
    if (form.id === "composer") send($("#composer-text").value, null, $("#composer-text"));
    else if (form.id === "reply-composer") send($("#reply-text").value, where.thread, $("#reply-text"));
    else if (form.classList.contains("modal")) {
      const { ok, values } = collect(form);
      if (ok) post("/_sandbox/submit_view", { user: where.user, values });
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && event.target.matches("#composer-text, #reply-text")) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  $("#user-switcher").addEventListener("change", (event) => {
    // The new person looks at the same channel and thread; a DM becomes their own DM with the app.
    const user = event.target.value;
    const change = { user };
    if (where.channel.startsWith("D")) Object.assign(change, { channel: dmOf(user), thread: null });
    shown.sidebar = null;
    go(change);
    if (where.home) post("/_sandbox/open_home", { user });
  });

  const events = new EventSource("/_web/events");
  events.onmessage = () => refresh();
  if (where.home) post("/_sandbox/open_home", { user: where.user });
  markUnread();
  $$(".messages").forEach((m) => (m.scrollTop = m.scrollHeight));
  window.sandboxPage = { where, refresh };
})();
