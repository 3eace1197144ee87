/*!
 * Parley agent desktop and supervisor view (web/desktop.html). No build step, no
 * dependencies; runs under Parley's strict CSP (no inline code or style; every piece of
 * data is written with textContent or as an attribute value; links are http(s) only).
 *
 * Files: desktop-util.js (helpers, storage, beep), desktop-chat.js (one chat tab:
 * transcript, composer, actions), desktop-basic.js (the basic-protocol connection and the
 * tabs), desktop-customer.js (customer pane), desktop-supervisor.js (overview,
 * monitor/coach/barge), desktop.js (this: login, the desktop WebSocket, status, offers,
 * views). Protocol: docs/protocol/desktop.md; user guide: docs/desktop.md.
 *
 * Stable hooks for tests and integrators (ids, classes, data- attributes):
 *   #login (section), #login-form, #login-name, #login-password, #login-submit,
 *   #login-error
 *   #app[data-role=agent|supervisor][data-status], #agent-name, #agent-role
 *   #status-text[data-status=ready|notReady|loggedOut][data-reason], #load-text,
 *   #status-ready, #status-not-ready, #not-ready-reason (select), #logout
 *   #conn-desktop, #conn-basic [data-state=connecting|connected|reconnecting]
 *   #toast (role=status), #view-chats-button, #view-supervisor-button,
 *   #view-chats, #view-supervisor
 *   #offers > li.offer[data-interaction-id][data-kind=queue|transfer|conference]
 *     .offer-kind, .offer-customer (span.identity-badge[data-identity=verified|
 *     unverified] when the tenant checks identities), .offer-details, .offer-countdown (seconds left,
 *     [data-remaining-ms]), progress.offer-progress, .offer-accept, .offer-reject;
 *     #no-offers
 *   #chat-tabs > button.chat-tab[role=tab][data-interaction-id][data-hold][data-unread]
 *     .chat-tab-label, .chat-tab-mode, .chat-tab-unread; #no-chats
 *   #chat-panels > section.chat-panel[data-interaction-id][data-hold=active|wrapUp]
 *       [data-visibility=ALL|INT|VIP]
 *     .chat-title (with span.identity-badge), .chat-meta, .chat-state, .chat-notice
 *     .chat-actions: .action-push-url, .action-transfer, .action-conference,
 *       .action-release, .action-done
 *     forms: .push-form (.push-url-input), .transfer-form (.transfer-kind agent|queue,
 *       .transfer-target), .conference-form (.conference-invitee), .release-form
 *       (.release-after-action KeepAlive|CloseIfNoAgents|ForceClose, .release-text);
 *       each with .form-submit and .form-cancel
 *     ol.transcript > li.line[data-event-id][data-kind]
 *       .line--customer | --agent | --own | --supervisor | --system | --bot | --event,
 *       .line--internal (with .internal-mark "internal — customer cannot see"),
 *       .line-who, .line-role, .line-time, .line-text, a.line-url;
 *       pending sends: li.line--pending-send[data-cmid], failed: .line--failed-send
 *     .typing-preview ("Customer is typing: …")
 *     form.composer: .composer-input, .composer-send, .composer-internal (checkbox),
 *       .composer-hint
 *     aside.customer-pane[data-loaded=true|false|error]: .customer-refresh,
 *       .customer-status, .interaction-facts (dd.identity-fact with the badge),
 *       table.userdata-table tr[data-key]
 *       (.ud-chat, .ud-contact; tr.differs when they differ), ol.history >
 *       li.history-item[data-interaction-id] (details > .history-transcript)
 *   #view-supervisor[data-overview]: #sup-queues tr[data-queue] (.q-waiting,
 *     .q-longest, .q-ready); #sup-agents tr[data-login][data-status] (.agent-status);
 *     #sup-sessions tr[data-interaction-id][data-state] (.sup-monitor, .sup-coach,
 *     .sup-barge); #sup-updated
 *   window.__parleyDesktopTest (only with ?testHooks on the page's address):
 *     state(), errors(), cspViolations(), beeps(), dropConnections(holdMs)
 */
(function () {
  "use strict";

  var PD = window.ParleyDesktop;
  var U = PD.util;
  var el = U.el;

  var FLASH_KEY = "parley-desktop-flash";
  var STATUS_TEXT = { ready: "Ready", notReady: "Not ready", loggedOut: "Logged out" };
  var KIND_TEXT = { queue: "New chat", transfer: "Transfer", conference: "Conference" };

  var st = U.load();
  var desk = null;
  var offers = new Map(); // interactionId -> {offer, li, deadline, countdown, progress, accept, reject}
  var offerTimer = null;
  var view = "chats";
  var wanted = new Set(); // chats this user asked for (accept, supervise): focus them when assigned
  var supervising = new Map(); // interactionId -> mode asked for, until `assigned`
  var status = { status: "loggedOut" };

  function persist() {
    U.save(st);
  }

  function $(id) {
    return document.getElementById(id);
  }

  var toastTimer = null;
  function toast(text) {
    var t = $("toast");
    t.textContent = text || "";
    t.classList.toggle("visible", !!text);
    clearTimeout(toastTimer);
    if (text) {
      toastTimer = setTimeout(function () {
        t.textContent = "";
        t.classList.remove("visible");
      }, 6000);
    }
  }

  function setConn(which, state) {
    $("conn-" + which).setAttribute("data-state", state);
  }

  // ---------------------------------------------------------------------------------
  // Login and logout

  function showLogin(message) {
    $("app").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-submit").disabled = false;
    $("login-name").focus();
  }

  function onLoginSubmit(e) {
    e.preventDefault();
    U.unlockAudio();
    var login = $("login-name").value.trim();
    var password = $("login-password").value;
    var error = $("login-error");
    error.textContent = "";
    if (!login || !password) {
      error.textContent = "Enter your login and password.";
      (login ? $("login-password") : $("login-name")).focus();
      return;
    }
    $("login-submit").disabled = true;
    fetch("/agent/v1/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ login: login, password: password }),
      credentials: "omit",
      cache: "no-store",
    })
      .then(function (res) {
        return res
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            if (res.ok && body.token) {
              st = U.freshState();
              st.token = body.token;
              st.expiresAt = body.expiresAt || 0;
              st.agent = body.agent || { login: login, nickname: login, role: "agent" };
              persist();
              $("login-password").value = "";
              start();
              return;
            }
            $("login-submit").disabled = false;
            if (res.status === 401) error.textContent = "Wrong login or password.";
            else if (res.status === 429) error.textContent = "Too many attempts. Try again in " + (body.retryAfter ? U.formatWait(body.retryAfter * 1000) : "a while") + ".";
            else error.textContent = body.message || "Login failed (HTTP " + res.status + ").";
            $("login-password").focus();
          });
      })
      .catch(function () {
        $("login-submit").disabled = false;
        error.textContent = "Parley cannot be reached. Check the connection and try again.";
      });
  }

  /** Leaves for good: the page starts again at the login form. */
  function endSession(message) {
    if (desk) desk.sock.close();
    PD.chats.stop();
    U.wipe();
    try {
      if (message) window.sessionStorage.setItem(FLASH_KEY, message);
    } catch (e) {
      /* no message then */
    }
    location.reload();
  }

  function logout() {
    var token = st.token;
    $("logout").disabled = true;
    fetch("/agent/v1/logout", { method: "POST", headers: { Authorization: "Bearer " + token }, credentials: "omit", cache: "no-store" })
      .catch(function () {
        /* the token expires anyway */
      })
      .then(function () {
        endSession("You are logged out.");
      });
  }

  // ---------------------------------------------------------------------------------
  // The desktop WebSocket (/agent/v1/ws)

  function Desk() {
    var self = this;
    this.reqSeq = 0;
    this.pending = new Map();
    this.sock = new U.Socket("/agent/v1/ws", {
      status: function (s) {
        setConn("desktop", s);
      },
      open: function (ws) {
        ws.send(JSON.stringify({ type: "hello", token: st.token }));
      },
      frame: onDeskFrame,
      lost: function () {
        self.pending.forEach(function (p) {
          p.reject(new Error("the connection was lost"));
        });
        self.pending.clear();
        // The server withdraws pending offers when the desktop drops; `welcome` restores.
        clearOffers();
      },
    });
  }

  /** Sends a frame; resolves on `ok`, rejects on `error` (err.code, err.message). */
  Desk.prototype.request = function (frame) {
    var self = this;
    return new Promise(function (resolve, reject) {
      self.reqSeq += 1;
      frame.requestId = self.reqSeq;
      if (!self.sock.send(frame)) {
        reject(new Error("not connected"));
        return;
      }
      self.pending.set(self.reqSeq, { resolve: resolve, reject: reject });
    });
  };

  function request(frame) {
    return desk ? desk.request(frame) : Promise.reject(new Error("not connected"));
  }

  function onDeskFrame(f) {
    var p = f.requestId !== undefined ? desk.pending.get(f.requestId) : null;
    if (p) desk.pending.delete(f.requestId);
    switch (f.type) {
      case "welcome":
        desk.sock.settled();
        setConn("desktop", "connected");
        if (f.agent) {
          st.agent = Object.assign({}, st.agent, f.agent);
          renderAgent();
        }
        renderStatus(f.status || {});
        clearOffers();
        (f.offers || []).forEach(function (o) {
          addOffer(o, false);
        });
        PD.chats.reconcile(f.chats || []);
        persist();
        if (isSupervisor()) request({ type: "watch" }).catch(function () {});
        break;
      case "status":
        renderStatus(f);
        break;
      case "offer":
        addOffer(f, true);
        break;
      case "offerWithdrawn":
        if (offers.has(f.interactionId)) toast("The offer was withdrawn.");
        removeOffer(f.interactionId);
        break;
      case "assigned":
        removeOffer(f.interactionId);
        var focus = wanted.has(f.interactionId) || !PD.chats.get(st.selected);
        wanted.delete(f.interactionId);
        if (supervising.has(f.interactionId)) {
          f.supervision = supervising.get(f.interactionId);
          supervising.delete(f.interactionId);
        }
        PD.chats.upsert(f, focus, true);
        if (focus && f.visibility && f.visibility !== "ALL") setView("chats");
        break;
      case "chatRemoved":
        // Taken out of the chat (a transfer completed, a re-queue): the chat stays for
        // after-chat work until mark done.
        var c = PD.chats.get(f.interactionId);
        if (c) toast("You were taken out of the chat with " + c.tabLabel.textContent + (f.reason ? " (" + f.reason + ")" : "") + ".");
        PD.chats.removed(f.interactionId, f.reason);
        break;
      case "chatDone":
        PD.chats.remove(f.interactionId);
        toast("Chat done.");
        break;
      case "inviteFailed":
        PD.chats.notice(f.interactionId, (f.invitee || "The invitee") + " did not accept the invitation.");
        toast((f.invitee || "The invitee") + " did not accept the invitation.");
        break;
      case "overview":
        if (isSupervisor()) {
          PD.supervisor.render(f);
          fillQueueNames((f.queues || []).map(function (q) {
            return q.name;
          }));
        }
        break;
      case "ok":
        if (p) p.resolve(f);
        break;
      case "error":
        if (f.code === "unauthorized") {
          endSession("Your session has expired. Please log in again.");
          return;
        }
        if (p) {
          var err = new Error(f.message || f.code || "refused");
          err.code = f.code;
          p.reject(err);
        } else if (f.message) toast(f.message);
        break;
      default:
        break; // frames added later
    }
  }

  // ---------------------------------------------------------------------------------
  // Agent and status

  function isSupervisor() {
    return !!(st.agent && st.agent.role === "supervisor");
  }

  function renderAgent() {
    var a = st.agent || {};
    $("agent-name").textContent = a.nickname || a.login || "";
    $("agent-name").setAttribute("title", a.login || "");
    $("agent-role").textContent = a.role === "supervisor" ? "Supervisor" : "Agent";
    $("app").setAttribute("data-role", a.role || "agent");
    $("view-supervisor-button").hidden = !isSupervisor();
    fillQueueNames([]);
  }

  function fillQueueNames(more) {
    var names = {};
    ((st.agent && st.agent.queues) || []).concat(more || []).forEach(function (q) {
      names[q] = true;
    });
    var list = $("queue-names");
    U.clear(list);
    Object.keys(names)
      .sort()
      .forEach(function (q) {
        list.appendChild(el("option", { value: q }));
      });
  }

  function renderStatus(s) {
    if (s.status) status.status = s.status;
    status.reason = s.reason || null;
    if (s.load !== undefined) status.load = s.load;
    if (s.capacity !== undefined) status.capacity = s.capacity;
    var text = STATUS_TEXT[status.status] || status.status;
    if (status.reason) text += " — " + status.reason;
    var t = $("status-text");
    t.textContent = text;
    t.setAttribute("data-status", status.status);
    if (status.reason) t.setAttribute("data-reason", status.reason);
    else t.removeAttribute("data-reason");
    $("app").setAttribute("data-status", status.status);
    $("load-text").textContent = status.capacity !== undefined ? (status.load || 0) + " / " + status.capacity : "";
    $("status-ready").setAttribute("aria-pressed", status.status === "ready" ? "true" : "false");
    $("status-not-ready").setAttribute("aria-pressed", status.status === "notReady" ? "true" : "false");
  }

  function setReady() {
    U.unlockAudio();
    request({ type: "ready" }).catch(function (err) {
      toast("Cannot set ready: " + err.message);
    });
  }

  function setNotReady() {
    var frame = { type: "notReady" };
    var reason = $("not-ready-reason").value;
    if (reason) frame.reason = reason.slice(0, 64);
    request(frame).catch(function (err) {
      toast("Cannot set not ready: " + err.message);
    });
  }

  // ---------------------------------------------------------------------------------
  // Offers

  function offerDeadline(o) {
    var timeout = Number(o.timeoutMs) || 30000;
    var left = Number(o.until) - Date.now();
    // A clock far off from the server's: count the offer's own timeout from now.
    if (!(left > 0) || left > timeout + 5000) left = timeout;
    return Date.now() + left;
  }

  function addOffer(o, fresh) {
    if (!o || !o.interactionId) return;
    removeOffer(o.interactionId);
    var id = o.interactionId;
    var customer = U.customerName(o.userData) || "Customer";
    var identity = U.identityBadge(o.identity);
    var kind = KIND_TEXT[o.kind] || "Offer";
    if (o.from) kind += " from " + o.from;
    var details = ["Queue " + (o.queue || "?")];
    if (o.subject) details.push(o.subject);
    var countdown = el("span", { class: "offer-countdown" });
    var progress = el("progress", { class: "offer-progress", max: String(Number(o.timeoutMs) || 30000), "aria-hidden": "true" });
    var accept = el("button", { type: "button", class: "primary offer-accept", text: "Accept" });
    var reject = el("button", { type: "button", class: "offer-reject", text: "Reject" });
    var li = el("li", { class: "offer offer--" + (o.kind || "queue"), "data-interaction-id": id, "data-kind": o.kind || "queue", "aria-label": kind + ": " + customer }, [
      el("p", { class: "offer-kind", text: kind }),
      el("p", { class: "offer-customer" }, identity ? [customer, " ", identity] : [customer]),
      el("p", { class: "offer-details", text: details.join(" · ") }),
      el("div", { class: "offer-timer" }, [progress, countdown]),
      el("div", { class: "offer-buttons" }, [accept, reject]),
    ]);
    var entry = { offer: o, li: li, deadline: offerDeadline(o), countdown: countdown, progress: progress, accept: accept, reject: reject };
    offers.set(id, entry);
    accept.addEventListener("click", function () {
      U.unlockAudio();
      accept.disabled = reject.disabled = true;
      wanted.add(id);
      li.classList.add("offer--accepting");
      request({ type: "accept", interactionId: id }).catch(function (err) {
        wanted.delete(id);
        toast("Cannot accept: " + err.message);
        if (err.code === "invalid-state" || err.code === "not-found") removeOffer(id);
        else accept.disabled = reject.disabled = false;
      });
    });
    reject.addEventListener("click", function () {
      accept.disabled = reject.disabled = true;
      request({ type: "reject", interactionId: id }).then(
        function () {
          removeOffer(id);
        },
        function (err) {
          toast("Cannot reject: " + err.message);
          removeOffer(id);
        }
      );
    });
    $("offers").appendChild(li);
    renderOffers();
    if (fresh) {
      U.beep();
      toast(kind + ": " + customer + " (" + details.join(" · ") + ")");
    }
  }

  function removeOffer(id) {
    var o = offers.get(id);
    if (!o) return;
    o.li.remove();
    offers.delete(id);
    renderOffers();
  }

  function clearOffers() {
    Array.from(offers.keys()).forEach(removeOffer);
  }

  function renderOffers() {
    $("no-offers").hidden = offers.size > 0;
    tickOffers();
    if (offers.size && !offerTimer) offerTimer = setInterval(tickOffers, 250);
    if (!offers.size && offerTimer) {
      clearInterval(offerTimer);
      offerTimer = null;
    }
  }

  function tickOffers() {
    var now = Date.now();
    offers.forEach(function (o) {
      var left = Math.max(0, o.deadline - now);
      o.countdown.textContent = left > 0 ? Math.ceil(left / 1000) + " s left" : "expired";
      o.countdown.setAttribute("data-remaining-ms", String(left));
      o.progress.value = left;
      o.li.classList.toggle("offer--urgent", left < 10000);
      if (left === 0 && !o.li.classList.contains("offer--accepting")) o.accept.disabled = true;
    });
  }

  // ---------------------------------------------------------------------------------
  // Views

  function setView(v) {
    if (v === "supervisor" && !isSupervisor()) v = "chats";
    view = v;
    st.view = v;
    persist();
    $("view-chats").hidden = v !== "chats";
    $("view-supervisor").hidden = v !== "supervisor";
    $("view-chats-button").setAttribute("aria-pressed", v === "chats" ? "true" : "false");
    $("view-supervisor-button").setAttribute("aria-pressed", v === "supervisor" ? "true" : "false");
    if (v === "chats" && st.selected) PD.chats.select(st.selected, false);
    if (v === "supervisor") PD.supervisor.refresh();
  }

  // ---------------------------------------------------------------------------------
  // Start

  function start() {
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").disabled = false;
    renderAgent();
    renderStatus({ status: "loggedOut" });
    $("status-text").textContent = "Connecting…";
    PD.customer.init({
      token: function () {
        return st.token;
      },
      onUnauthorized: function () {
        endSession("Your session has expired. Please log in again.");
      },
    });
    PD.chats.init({
      st: st,
      persist: persist,
      request: request,
      setConn: setConn,
      view: function () {
        return view;
      },
      onUnauthorized: function () {
        endSession("Your session has expired. Please log in again.");
      },
      tabsEl: $("chat-tabs"),
      panelsEl: $("chat-panels"),
      emptyEl: $("no-chats"),
    });
    if (isSupervisor()) {
      PD.supervisor.init({
        request: request,
        login: st.agent.login,
        toast: toast,
        holds: function (id) {
          return PD.chats.has(id);
        },
        onSupervise: function (id, mode) {
          wanted.add(id);
          supervising.set(id, mode);
        },
      });
    }
    // Chats known before a reload come back at once; `welcome` confirms them.
    Object.keys(st.chats).forEach(function (id) {
      var rec = st.chats[id];
      PD.chats.upsert(Object.assign({ interactionId: id }, rec.info), id === st.selected);
    });
    setView(st.view || "chats");
    desk = new Desk();
    desk.sock.connect();
  }

  function boot() {
    $("login-form").addEventListener("submit", onLoginSubmit);
    $("status-ready").addEventListener("click", setReady);
    $("status-not-ready").addEventListener("click", setNotReady);
    $("logout").addEventListener("click", logout);
    $("view-chats-button").addEventListener("click", function () {
      setView("chats");
    });
    $("view-supervisor-button").addEventListener("click", function () {
      setView("supervisor");
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && view === "chats" && st.selected) PD.chats.select(st.selected, false);
    });
    window.addEventListener("online", function () {
      if (desk && !desk.sock.ws) desk.sock.connect();
    });

    if (new URLSearchParams(location.search).has("testHooks")) {
      window.__parleyDesktopTest = {
        state: function () {
          return {
            login: st.agent && st.agent.login,
            status: status,
            desktop: $("conn-desktop").getAttribute("data-state"),
            basic: $("conn-basic").getAttribute("data-state"),
            offers: Array.from(offers.keys()),
            view: view,
            chats: PD.chats.state(),
          };
        },
        errors: U.errors,
        cspViolations: U.cspViolations,
        beeps: U.beeps,
        dropConnections: function (holdMs) {
          if (desk) desk.sock.drop(holdMs);
          PD.chats.drop(holdMs);
        },
      };
    }

    var flash = null;
    try {
      flash = window.sessionStorage.getItem(FLASH_KEY);
      window.sessionStorage.removeItem(FLASH_KEY);
    } catch (e) {
      /* none */
    }
    if (st.token && (!st.expiresAt || st.expiresAt > Date.now())) start();
    else {
      var expired = !!st.token;
      if (expired) U.wipe();
      st = U.freshState();
      showLogin(flash || (expired ? "Your session has expired. Please log in again." : ""));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
