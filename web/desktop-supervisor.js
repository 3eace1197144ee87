/*!
 * Parley agent desktop: the supervisor view. Renders the `overview` frames the desktop
 * WebSocket sends after `watch` (queues, agents, live sessions) and offers monitor /
 * coach / barge per session; the chat then opens in a tab (desktop-chat.js).
 */
(function () {
  "use strict";

  var PD = window.ParleyDesktop;
  var U = PD.util;
  var el = U.el;

  var MODES = [
    ["monitor", "Monitor", "sup-monitor", "Watch silently: nobody sees you"],
    ["coach", "Coach", "sup-coach", "Agents see your lines, the customer never does"],
    ["barge", "Barge in", "sup-barge", "Join the chat visibly"],
  ];
  var STATUS = { ready: "Ready", notReady: "Not ready", loggedOut: "Logged out" };

  var ctx = null;
  var last = null; // the last overview
  var receivedAt = 0;
  var ticker = null;

  /** ctx: { request(frame) -> Promise, login, toast(text), onSupervise(id, mode), holds(id) } */
  function init(c) {
    ctx = c;
    clearInterval(ticker);
    ticker = setInterval(function () {
      if (last) renderTimes();
    }, 1000);
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function statusText(a) {
    var s = STATUS[a.status] || a.status || "?";
    if (a.status === "notReady" && a.reason) s += " — " + a.reason;
    return s;
  }

  function renderQueues(queues) {
    var body = byId("sup-queues");
    U.clear(body);
    (queues || []).forEach(function (q) {
      var tr = el("tr", { "data-queue": q.name, class: q.waiting > 0 ? "busy" : "" }, [
        el("th", { scope: "row", text: q.name }),
        el("td", { class: "num q-waiting", text: String(q.waiting || 0) }),
        el("td", { class: "num q-longest", "data-ms": String(q.longestWaitMs || 0), text: q.waiting ? U.formatWait(q.longestWaitMs) : "—" }),
        el("td", { class: "num q-ready", text: String(q.agentsReady || 0) }),
      ]);
      body.appendChild(tr);
    });
    if (!(queues || []).length) body.appendChild(el("tr", {}, [el("td", { colspan: "4", class: "empty", text: "No queues." })]));
  }

  function renderAgents(agents) {
    var body = byId("sup-agents");
    U.clear(body);
    var list = byId("agent-logins");
    U.clear(list);
    (agents || []).forEach(function (a) {
      list.appendChild(el("option", { value: a.login, label: a.nickname || a.login }));
      var status = el("span", { class: "agent-status", "data-status": a.status || "", text: statusText(a) });
      var tr = el("tr", { "data-login": a.login, "data-status": a.status || "" }, [
        el("th", { scope: "row" }, [el("span", { class: "agent-nick", text: a.nickname || a.login }), el("span", { class: "agent-login", text: " " + a.login })]),
        el("td", { class: "agent-role", text: a.role || "" }),
        el("td", {}, [status]),
        el("td", { class: "num agent-load", text: (a.load || 0) + " / " + (a.capacity || 0) }),
        el("td", { class: "agent-conn", text: a.connected ? "online" : "offline" }),
      ]);
      if (!a.connected) tr.classList.add("offline");
      body.appendChild(tr);
    });
    if (!(agents || []).length) body.appendChild(el("tr", {}, [el("td", { colspan: "5", class: "empty", text: "No agents." })]));
  }

  function renderSessions(sessions) {
    var body = byId("sup-sessions");
    U.clear(body);
    (sessions || []).forEach(function (s) {
      var sups = (s.supervisors || []).map(function (x) {
        return x.login + " (" + x.mode + ")";
      });
      var mine = (s.supervisors || []).some(function (x) {
        return x.login === ctx.login;
      });
      var buttons = el("div", { class: "sup-actions", role: "group", "aria-label": "Supervise " + (s.customer || s.interactionId) });
      MODES.forEach(function (m) {
        var b = el("button", { type: "button", class: "small " + m[2], title: m[3], text: m[1] });
        b.disabled = mine || ctx.holds(s.interactionId) || s.state === "wrapUp";
        b.addEventListener("click", function () {
          supervise(s.interactionId, m[0], buttons);
        });
        buttons.appendChild(b);
      });
      body.appendChild(
        el("tr", { "data-interaction-id": s.interactionId, "data-state": s.state || "" }, [
          el("th", { scope: "row", text: s.customer || "(unknown)" }),
          el("td", { class: "s-queue", text: s.queue || "" }),
          el("td", { class: "s-state", text: s.state || "" }),
          el("td", { class: "num s-age", "data-since": String(s.submittedAt || 0), text: s.submittedAt ? U.formatWait(Date.now() - s.submittedAt) : "" }),
          el("td", { class: "s-agents", text: (s.agents || []).join(", ") || "—" }),
          el("td", { class: "s-supervisors", text: sups.join(", ") || "—" }),
          el("td", {}, [buttons]),
        ])
      );
    });
    if (!(sessions || []).length) body.appendChild(el("tr", {}, [el("td", { colspan: "7", class: "empty", text: "No live chats." })]));
  }

  /** The clocks move between overviews (they are sent only when something changes). */
  function renderTimes() {
    var elapsed = Date.now() - receivedAt;
    document.querySelectorAll("#sup-queues .q-longest").forEach(function (td) {
      var ms = Number(td.getAttribute("data-ms"));
      if (ms > 0) td.textContent = U.formatWait(ms + elapsed);
    });
    document.querySelectorAll("#sup-sessions .s-age").forEach(function (td) {
      var since = Number(td.getAttribute("data-since"));
      if (since > 0) td.textContent = U.formatWait(Date.now() - since);
    });
  }

  function supervise(id, mode, group) {
    group.querySelectorAll("button").forEach(function (b) {
      b.disabled = true;
    });
    ctx.onSupervise(id, mode);
    ctx.request({ type: "supervise", interactionId: id, mode: mode }).then(
      function () {
        ctx.toast((mode === "monitor" ? "Monitoring" : mode === "coach" ? "Coaching" : "Barging into") + " the chat…");
      },
      function (err) {
        ctx.toast("Cannot " + mode + ": " + err.message);
        if (last) render(last);
      }
    );
  }

  function render(o) {
    last = o;
    receivedAt = Date.now();
    // Rows are rebuilt: keep the keyboard focus on the same button.
    var f = document.activeElement;
    var row = f && f.closest ? f.closest("#sup-sessions tr[data-interaction-id]") : null;
    var keep = row ? [row.getAttribute("data-interaction-id"), f.className.split(" ").pop()] : null;
    renderQueues(o.queues);
    renderAgents(o.agents);
    renderSessions(o.sessions);
    if (keep) {
      var again = document.querySelector('#sup-sessions tr[data-interaction-id="' + CSS.escape(keep[0]) + '"] .' + CSS.escape(keep[1]));
      if (again) again.focus();
    }
    byId("sup-updated").textContent = "Updated " + new Date().toLocaleTimeString();
    byId("view-supervisor").setAttribute("data-overview", "true");
  }

  function refresh() {
    if (last) render(last);
  }

  function stop() {
    clearInterval(ticker);
    ticker = null;
    last = null;
  }

  PD.supervisor = { init: init, render: render, refresh: refresh, stop: stop };
})();
