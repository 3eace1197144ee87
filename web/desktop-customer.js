/*!
 * Parley agent desktop: the customer pane of a chat, from GET /agent/v1/interactions/{id}
 * (Bearer token): the chat's user data next to the stored contact record, differing
 * values highlighted, and the contact's history (past interactions with transcripts).
 */
(function () {
  "use strict";

  var PD = window.ParleyDesktop;
  var U = PD.util;
  var el = U.el;

  var FIRST_KEYS = ["FirstName", "LastName", "EmailAddress", "PhoneNumber", "Title"];
  var ctx = null;

  /** ctx: { token() -> string, onUnauthorized() } */
  function init(c) {
    ctx = c;
  }

  function fetchInteraction(id) {
    return fetch("/agent/v1/interactions/" + encodeURIComponent(id), {
      headers: { Authorization: "Bearer " + ctx.token(), Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
    }).then(function (res) {
      return res
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          if (!res.ok) {
            var err = new Error(body.message || body.code || "HTTP " + res.status);
            err.status = res.status;
            throw err;
          }
          return body;
        });
    });
  }

  function orderKeys(a, b) {
    var keys = {};
    Object.keys(a || {}).concat(Object.keys(b || {})).forEach(function (k) {
      // The contact's id is shown above the table.
      if (!/^ContactI[Dd]$/.test(k)) keys[k] = true;
    });
    var all = Object.keys(keys);
    var first = FIRST_KEYS.filter(function (k) {
      return keys[k];
    });
    var rest = all
      .filter(function (k) {
        return FIRST_KEYS.indexOf(k) < 0;
      })
      .sort();
    return first.concat(rest);
  }

  function cell(cls, value) {
    var has = value !== undefined && value !== null && value !== "";
    return el("td", { class: cls + (has ? "" : " empty"), text: has ? String(value) : "—" });
  }

  function renderUserData(table, userData, attributes) {
    var body = table.tBodies[0];
    U.clear(body);
    var keys = orderKeys(userData, attributes);
    var differing = 0;
    keys.forEach(function (k) {
      var a = userData ? userData[k] : undefined;
      var b = attributes ? attributes[k] : undefined;
      var tr = el("tr", { "data-key": k }, [el("th", { scope: "row", text: k }), cell("ud-chat", a), cell("ud-contact", b)]);
      if (a !== undefined && b !== undefined && String(a).trim() !== String(b).trim()) {
        tr.classList.add("differs");
        tr.setAttribute("title", "The chat and the contact record differ");
        tr.firstChild.appendChild(el("span", { class: "differs-mark", text: " ≠" }));
        differing += 1;
      }
      body.appendChild(tr);
    });
    if (!keys.length) body.appendChild(el("tr", {}, [el("td", { colspan: "3", class: "empty", text: "No user data." })]));
    return differing;
  }

  function renderHistory(list, history) {
    U.clear(list);
    if (!history || !history.length) {
      list.appendChild(el("li", { class: "history-empty", text: "No earlier interactions." }));
      return;
    }
    history.forEach(function (h) {
      var lines = el("ol", { class: "history-transcript" });
      (h.transcript || []).forEach(function (t) {
        lines.appendChild(
          el("li", { class: "history-line" + (t.partyType === "CLIENT" ? " history-line--customer" : "") }, [
            U.timeEl(t.at, "line-time"),
            el("span", { class: "history-who", text: (t.nickname || "?") + ": " }),
            el("span", { class: "history-text", text: t.text || "" }),
          ])
        );
      });
      if (!(h.transcript || []).length) lines.appendChild(el("li", { class: "history-line empty", text: "No messages." }));
      var n = (h.transcript || []).length;
      var summary = el("summary", {}, [
        el("span", { class: "history-date", text: U.formatDateTime(h.createdAt) }),
        " ",
        el("span", { class: "history-subject", text: h.subject || "(no subject)" }),
        el("span", { class: "history-count", text: " · " + n + (n === 1 ? " line" : " lines") }),
      ]);
      list.appendChild(el("li", { class: "history-item", "data-interaction-id": h.id }, [el("details", {}, [summary, lines])]));
    });
  }

  /** Builds the pane of `chat` in `pane` and loads it. */
  function mount(pane, chat) {
    var status = el("p", { class: "customer-status", role: "status", text: "Loading…" });
    var refresh = el("button", { type: "button", class: "customer-refresh small", text: "Refresh", "aria-label": "Refresh the customer data" });
    var facts = el("dl", { class: "interaction-facts" });
    var table = el("table", { class: "userdata-table" }, [
      el("caption", { class: "visually-hidden", text: "The chat's user data and the stored contact record" }),
      el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "" }), el("th", { scope: "col", text: "This chat" }), el("th", { scope: "col", text: "Contact record" })])]),
      el("tbody"),
    ]);
    var history = el("ol", { class: "history" });
    U.clear(pane);
    pane.appendChild(el("div", { class: "pane-head" }, [el("h3", { text: "Customer" }), refresh]));
    pane.appendChild(status);
    pane.appendChild(facts);
    pane.appendChild(table);
    pane.appendChild(el("h3", { text: "Contact history" }));
    pane.appendChild(history);

    var retried = false;
    function load() {
      status.textContent = "Loading…";
      pane.setAttribute("data-loaded", "false");
      fetchInteraction(chat.id).then(
        function (data) {
          var i = data.interaction || {};
          U.clear(facts);
          [
            ["Queue", i.queue],
            ["State", i.state],
            ["Started", i.createdAt ? U.formatDateTime(i.createdAt) : ""],
            ["Subject", i.subject],
            ["Contact", data.contact ? data.contact.id : "not identified"],
          ].forEach(function (f) {
            if (!f[1]) return;
            facts.appendChild(el("dt", { text: f[0] }));
            facts.appendChild(el("dd", { text: String(f[1]), title: String(f[1]) }));
          });
          var badge = U.identityBadge(i.identity);
          if (badge) {
            facts.appendChild(el("dt", { text: "Identity" }));
            facts.appendChild(el("dd", { class: "identity-fact" }, [badge]));
          }
          var diffs = renderUserData(table, i.userData || {}, data.contact ? data.contact.attributes : null);
          renderHistory(history, data.history);
          status.textContent = diffs ? diffs + (diffs === 1 ? " value differs" : " values differ") + " from the contact record." : "";
          pane.setAttribute("data-loaded", "true");
          // The contact may be matched a moment after the chat is offered: look again once.
          if (!data.contact && !retried) {
            retried = true;
            setTimeout(load, 3000);
          }
        },
        function (err) {
          if (err.status === 401) ctx.onUnauthorized();
          status.textContent = "Customer data not available: " + err.message;
          pane.setAttribute("data-loaded", "error");
        }
      );
    }
    refresh.addEventListener("click", load);
    load();
  }

  PD.customer = { init: init, mount: mount, fetchInteraction: fetchInteraction };
})();
