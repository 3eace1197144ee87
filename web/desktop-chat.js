/*!
 * Parley agent desktop: one chat tab (`ParleyDesktop.Chat`): the tab, the transcript, the
 * typing preview, the composer and the chat's actions (push URL, transfer, conference,
 * release with after-action, mark done) and its customer pane (desktop-customer.js).
 * desktop-basic.js owns the basic-protocol connection and the set of tabs.
 *
 * Every event is de-duplicated by id and placed in id order; own sends are shown at once
 * and matched to their event by clientMessageId, so no line is lost or doubled. All data
 * is written with textContent.
 */
(function () {
  "use strict";

  var PD = window.ParleyDesktop;
  var U = PD.util;
  var el = U.el;

  var TYPING_EVERY = 1500;
  var TYPING_IDLE = 5000;
  var INTERNAL = "internal — customer cannot see";
  var AFTER_ACTIONS = [
    ["CloseIfNoAgents", "Close if no agents remain"],
    ["KeepAlive", "Keep alive (the customer stays)"],
    ["ForceClose", "Force close"],
  ];
  var MODE_LABEL = { INT: "Monitoring", VIP: "Coaching" };

  // Shared with desktop-basic.js, which fills it: the desktop's context (see init there),
  // the basic-protocol connection, the selected tab and how to select one.
  var env = (PD.chatEnv = { ctx: null, link: null, selected: null, select: null, remove: null });
  var uid = 0;

  function freshRecord() {
    return { lastEventId: 0, events: [], joined: false, left: false, over: false, outbox: [], info: {}, customer: "" };
  }

  function myUserId() {
    return env.ctx.st.basic.userId;
  }

  // ---------------------------------------------------------------------------------
  // One chat: its record, its tab, its panel

  function Chat(info) {
    this.id = info.interactionId;
    var rec = env.ctx.st.chats[this.id];
    if (!rec) rec = env.ctx.st.chats[this.id] = freshRecord();
    this.rec = rec;
    this.seen = new Set();
    this.lines = new Map(); // event id -> li
    this.nicknames = new Map();
    this.typers = new Map();
    this.unread = 0;
    // The session password (`sessionPassword` of `assigned` / `welcome`), presented when
    // joining: kept in memory only, never in sessionStorage (a reload gets it again from
    // the `welcome`).
    this.password = null;
    this.subscribed = false; // joined or resumed on the current basic connection
    this.inflight = false; // a join or resume is waiting for its reply
    this.typingSent = false;
    this.typingTimer = null;
    this.typingIdle = null;
    this.lastTypingAt = 0;
    this.build();
    this.update(info);
    var self = this;
    rec.events.slice().forEach(function (e) {
      self.process(e, true);
    });
    rec.outbox.forEach(function (item) {
      if (!self.findPending(item.cmid)) self.pendingLine(item);
    });
    PD.customer.mount(this.customerPane, this);
  }

  Chat.prototype.build = function () {
    var self = this;
    uid += 1;
    var n = uid;
    this.tabId = "chat-tab-" + n;
    this.panelId = "chat-panel-" + n;
    this.tabLabel = el("span", { class: "chat-tab-label" });
    this.tabMode = el("span", { class: "chat-tab-mode", hidden: true });
    this.tabUnread = el("span", { class: "chat-tab-unread", hidden: true, "aria-label": "unread lines" });
    this.tab = el("button", {
      type: "button",
      role: "tab",
      id: this.tabId,
      class: "chat-tab",
      "data-interaction-id": this.id,
      "aria-controls": this.panelId,
      "aria-selected": "false",
      tabindex: "-1",
    }, [this.tabLabel, this.tabMode, this.tabUnread]);
    this.tab.addEventListener("click", function () {
      env.select(self.id, true);
    });

    this.title = el("h2", { class: "chat-title" });
    this.meta = el("p", { class: "chat-meta" });
    this.stateEl = el("p", { class: "chat-state", role: "status" });
    this.noticeEl = el("p", { class: "chat-notice", role: "status", "aria-live": "polite" });

    function action(cls, text, handler) {
      var b = el("button", { type: "button", class: "action " + cls, text: text });
      b.addEventListener("click", handler);
      return b;
    }
    this.actions = {
      push: action("action-push-url", "Push URL", function () {
        self.openForm("push");
      }),
      transfer: action("action-transfer", "Transfer", function () {
        self.openForm("transfer");
      }),
      conference: action("action-conference", "Conference", function () {
        self.openForm("conference");
      }),
      release: action("action-release", "Release", function () {
        self.openForm("release");
      }),
      done: action("action-done primary", "Mark done", function () {
        self.markDone();
      }),
    };
    var toolbar = el("div", { class: "chat-actions", role: "toolbar", "aria-label": "Chat actions" }, [
      this.actions.push,
      this.actions.transfer,
      this.actions.conference,
      this.actions.release,
      this.actions.done,
    ]);

    this.forms = { push: this.buildPushForm(), transfer: this.buildTransferForm(), conference: this.buildConferenceForm(), release: this.buildReleaseForm() };

    this.log = el("ol", {
      class: "transcript",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
      "aria-label": "Transcript",
      tabindex: "0",
    });
    this.typingEl = el("p", { class: "typing-preview", role: "status", "aria-live": "polite" });

    var inputId = this.panelId + "-input";
    var internalId = this.panelId + "-internal";
    this.input = el("textarea", { id: inputId, class: "composer-input", rows: "2", maxlength: "4000", placeholder: "Type a message…" });
    this.internalBox = el("input", { id: internalId, type: "checkbox", class: "composer-internal" });
    this.internalLabel = el("label", { for: internalId, class: "composer-internal-label" }, [this.internalBox, " Internal note"]);
    this.hint = el("p", { class: "composer-hint", hidden: true });
    this.sendButton = el("button", { type: "submit", class: "composer-send primary", text: "Send" });
    this.composer = el("form", { class: "composer" }, [
      el("label", { for: inputId, class: "visually-hidden", text: "Message" }),
      this.hint,
      el("div", { class: "composer-row" }, [this.input, el("div", { class: "composer-side" }, [this.sendButton, this.internalLabel])]),
    ]);
    this.composer.addEventListener("submit", function (e) {
      e.preventDefault();
      self.send();
    });
    this.input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        self.send();
      }
    });
    this.input.addEventListener("input", function () {
      self.onComposerInput();
    });

    this.customerPane = el("aside", { class: "customer-pane", "aria-label": "Customer" });
    var main = el("div", { class: "chat-main" }, [
      el("header", { class: "chat-head" }, [el("div", { class: "chat-head-text" }, [this.title, this.meta]), this.stateEl]),
      toolbar,
      this.forms.push,
      this.forms.transfer,
      this.forms.conference,
      this.forms.release,
      this.noticeEl,
      this.log,
      this.typingEl,
      this.composer,
    ]);
    this.panel = el("section", {
      role: "tabpanel",
      id: this.panelId,
      class: "chat-panel",
      "data-interaction-id": this.id,
      "aria-labelledby": this.tabId,
      hidden: true,
    }, [main, this.customerPane]);
    this.panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") self.closeForms(true);
    });
  };

  function formRow(children) {
    return el("div", { class: "form-row" }, children);
  }

  Chat.prototype.formBase = function (cls, title, children, submitText) {
    var self = this;
    var cancel = el("button", { type: "button", class: "form-cancel", text: "Cancel" });
    var form = el("form", { class: "chat-form " + cls, hidden: true, "aria-label": title }, [
      el("p", { class: "chat-form-title", text: title }),
      formRow(children.concat([el("button", { type: "submit", class: "primary form-submit", text: submitText }), cancel])),
    ]);
    cancel.addEventListener("click", function () {
      self.closeForms(true);
    });
    return form;
  };

  Chat.prototype.buildPushForm = function () {
    var self = this;
    var id = this.panelId + "-push";
    var input = el("input", { id: id, type: "url", class: "push-url-input", placeholder: "https://…", maxlength: "2000" });
    var form = this.formBase("push-form", "Push a link to the customer", [el("label", { for: id, text: "URL" }), input], "Push");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var url = U.safeHttpUrl(input.value);
      if (!url) {
        self.notice("Only http and https links can be pushed.");
        input.focus();
        return;
      }
      if (env.link.notify(self, "USER_PUSHED_URL", url)) {
        input.value = "";
        self.closeForms(false);
        self.input.focus();
      } else self.notice("Not connected: try again in a moment.");
    });
    return form;
  };

  Chat.prototype.buildTransferForm = function () {
    var self = this;
    var kindId = this.panelId + "-tkind";
    var targetId = this.panelId + "-ttarget";
    var kind = el("select", { id: kindId, class: "transfer-kind" }, [
      el("option", { value: "agent", text: "to an agent" }),
      el("option", { value: "queue", text: "to a queue" }),
    ]);
    var target = el("input", { id: targetId, class: "transfer-target", list: "agent-logins", autocomplete: "off", maxlength: "64", placeholder: "login" });
    kind.addEventListener("change", function () {
      target.setAttribute("list", kind.value === "queue" ? "queue-names" : "agent-logins");
      target.setAttribute("placeholder", kind.value === "queue" ? "queue" : "login");
    });
    var form = this.formBase("transfer-form", "Transfer the chat", [
      el("label", { for: kindId, class: "visually-hidden", text: "Transfer" }),
      kind,
      el("label", { for: targetId, class: "visually-hidden", text: "Agent or queue" }),
      target,
    ], "Transfer");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var to = target.value.trim();
      if (!to) return target.focus();
      var frame = { type: "transfer", interactionId: self.id };
      if (kind.value === "queue") frame.toQueue = to;
      else frame.toAgent = to;
      self.closeForms(false);
      env.ctx.request(frame).then(
        function () {
          self.notice(kind.value === "queue" ? "Transferred to queue " + to + "." : "Transfer offered to " + to + "…");
          target.value = "";
        },
        function (err) {
          self.notice("Transfer refused: " + err.message);
        }
      );
    });
    return form;
  };

  Chat.prototype.buildConferenceForm = function () {
    var self = this;
    var id = this.panelId + "-conf";
    var input = el("input", { id: id, class: "conference-invitee", list: "agent-logins", autocomplete: "off", maxlength: "64", placeholder: "login" });
    var form = this.formBase("conference-form", "Invite a second agent", [el("label", { for: id, text: "Agent" }), input], "Invite");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var who = input.value.trim();
      if (!who) return input.focus();
      self.closeForms(false);
      env.ctx.request({ type: "conference", interactionId: self.id, invitee: who }).then(
        function () {
          self.notice("Conference invitation sent to " + who + "…");
          input.value = "";
        },
        function (err) {
          self.notice("Conference refused: " + err.message);
        }
      );
    });
    return form;
  };

  Chat.prototype.buildReleaseForm = function () {
    var self = this;
    var actionId = this.panelId + "-after";
    var textId = this.panelId + "-farewell";
    this.afterAction = el("select", { id: actionId, class: "release-after-action" }, AFTER_ACTIONS.map(function (a) {
      return el("option", { value: a[0], text: a[1] });
    }));
    this.afterActionLabel = el("label", { for: actionId, text: "After-action" });
    var text = el("input", { id: textId, class: "release-text", maxlength: "500", placeholder: "optional" });
    var form = this.formBase("release-form", "Leave the chat", [this.afterActionLabel, this.afterAction, el("label", { for: textId, text: "Farewell" }), text], "Release");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var after = self.visibility() === "ALL" ? self.afterAction.value : "KeepAlive";
      if (env.link.release(self, after, text.value.trim())) {
        text.value = "";
        self.closeForms(false);
        self.notice("Leaving the chat…");
      } else self.notice("Not connected: try again in a moment.");
    });
    return form;
  };

  Chat.prototype.openForm = function (name) {
    var f = this.forms[name];
    var wasOpen = !f.hidden;
    this.closeForms(false);
    if (wasOpen) return;
    f.hidden = false;
    var first = f.querySelector("input, select");
    if (first) first.focus();
  };

  Chat.prototype.closeForms = function (focusInput) {
    var self = this;
    Object.keys(this.forms).forEach(function (k) {
      self.forms[k].hidden = true;
    });
    if (focusInput && !this.input.disabled) this.input.focus();
  };

  Chat.prototype.notice = function (text) {
    this.noticeEl.textContent = text || "";
  };

  Chat.prototype.visibility = function () {
    return this.rec.info.visibility || "ALL";
  };

  /** `active` in the chat, `wrapUp` once left or over (after-chat work, mark done). */
  Chat.prototype.hold = function () {
    return this.rec.info.hold === "wrapUp" || this.rec.left || this.rec.over || this.rec.removed ? "wrapUp" : "active";
  };

  /**
   * New facts from the desktop connection (`welcome`, `assigned`). `fresh`: an `assigned`
   * (the chat is ours again, e.g. transferred back after we left it).
   */
  Chat.prototype.update = function (info, fresh) {
    var i = this.rec.info;
    if (fresh && info.hold === "active" && !this.rec.over && (this.rec.left || this.rec.removed)) {
      this.rec.left = false;
      this.rec.removed = false;
      this.notice("");
    }
    if (info && info.sessionPassword) this.password = info.sessionPassword;
    Object.keys(info || {}).forEach(function (k) {
      if (k === "sessionPassword") return;
      if (info[k] !== undefined && info[k] !== null) i[k] = info[k];
    });
    if (i.userData && !this.rec.customer) this.rec.customer = U.customerName(i.userData);
    this.render();
  };

  Chat.prototype.render = function () {
    var vis = this.visibility();
    var hold = this.hold();
    var i = this.rec.info;
    var name = this.rec.customer || i.subject || "Chat " + this.id.slice(-6);
    this.tabLabel.textContent = name;
    this.tabMode.hidden = !MODE_LABEL[vis];
    this.tabMode.textContent = MODE_LABEL[vis] || "";
    this.tab.classList.toggle("chat-tab--wrapup", hold === "wrapUp");
    this.tab.setAttribute("data-hold", hold);
    this.title.textContent = name;
    var badge = U.identityBadge(i.identity);
    if (badge) {
      this.title.appendChild(document.createTextNode(" "));
      this.title.appendChild(badge);
    }
    var meta = ["Queue " + (i.queue || "?")];
    if (i.subject) meta.push(i.subject);
    if (MODE_LABEL[vis]) meta.push(MODE_LABEL[vis]);
    this.meta.textContent = meta.join(" · ");
    this.panel.setAttribute("data-hold", hold);
    this.panel.setAttribute("data-visibility", vis);
    var wrap = hold === "wrapUp";
    this.stateEl.textContent = wrap ? (this.rec.info.supervision ? "You left the chat" : this.rec.over && !this.rec.left ? "Chat ended — after-chat work" : "After-chat work") : "";
    this.actions.done.textContent = this.rec.info.supervision ? "Close tab" : "Mark done";
    var internal = vis !== "ALL";
    this.actions.push.hidden = internal;
    this.actions.transfer.hidden = internal;
    this.actions.conference.hidden = internal;
    this.actions.release.textContent = vis === "INT" ? "Stop monitoring" : vis === "VIP" ? "Stop coaching" : "Release";
    this.afterAction.hidden = internal;
    this.afterActionLabel.hidden = internal;
    [this.actions.push, this.actions.transfer, this.actions.conference, this.actions.release].forEach(function (b) {
      b.disabled = wrap;
    });
    this.actions.done.disabled = !wrap;
    this.actions.done.classList.toggle("attention", wrap);
    this.input.disabled = wrap;
    this.sendButton.disabled = wrap;
    this.internalLabel.hidden = internal;
    this.internalBox.disabled = wrap;
    this.hint.hidden = !internal;
    this.hint.textContent = vis === "VIP" ? "Coaching: the agents see your lines, the customer never does." : vis === "INT" ? "Monitoring: your lines are internal notes, the customer never sees them." : "";
    this.input.setAttribute("placeholder", internal ? "Internal line — the customer cannot see it…" : "Type a message…");
    if (wrap) {
      this.closeForms(false);
      this.clearTyping();
      // An abandoned chat offered after it ended (stop-abandoned-interaction = never).
      if (!this.rec.joined && !this.log.firstElementChild && !this.noticeEl.textContent) {
        this.notice("This chat ended before anyone answered it; the customer's details are on the right.");
      }
    }
  };

  /**
   * Mark done: the server answers `ok` (then `chatDone`); the tab goes on `ok`. Right after
   * a release the server may not have seen the leave yet (`invalid-state`): try again for
   * a few seconds. A supervision (monitor, coach, barge) needs no mark done: its tab just
   * closes.
   */
  Chat.prototype.markDone = function () {
    var self = this;
    if (this.rec.info.supervision) {
      env.remove(this.id);
      return;
    }
    this.actions.done.disabled = true;
    var tries = 0;
    function attempt() {
      env.ctx.request({ type: "markDone", interactionId: self.id }).then(
        function () {
          env.remove(self.id);
        },
        function (err) {
          if (err.code === "invalid-state" && tries < 8 && !self.rec.removed) {
            tries += 1;
            setTimeout(attempt, 500);
          } else if (err.code === "not-found" || (err.code === "invalid-state" && self.rec.removed)) {
            env.remove(self.id); // the server no longer holds it for us
          } else {
            self.actions.done.disabled = self.hold() !== "wrapUp";
            self.notice("Mark done refused: " + err.message);
          }
        }
      );
    }
    attempt();
  };

  // ---------------------------------------------------------------------------------
  // Transcript

  Chat.prototype.nameOf = function (userId, fallback) {
    if (userId && userId === myUserId()) return "You";
    return this.nicknames.get(userId) || fallback || "";
  };

  function isBot(ev) {
    var a = ev.eventAttributes && ev.eventAttributes.GCTI_SYSTEM && ev.eventAttributes.GCTI_SYSTEM["party-info"];
    return !!(a && String(a.style).toUpperCase() === "BOT");
  }

  function partyClass(ev) {
    if (ev.userId === myUserId()) return "line--own";
    if (ev.partyType === "CLIENT") return "line--customer";
    if (ev.partyType === "SYSTEM" || ev.partyType === "EXTERNAL") return "line--system";
    if (isBot(ev)) return "line--bot";
    if (ev.partyType === "SUPERVISOR") return "line--supervisor";
    return "line--agent";
  }

  var ROLE = { "line--customer": "Customer", "line--system": "System", "line--bot": "Bot", "line--supervisor": "Supervisor", "line--agent": "Agent" };

  function internalMark(ev) {
    return el("span", { class: "internal-mark", title: "Visibility " + ev.visibility, text: INTERNAL });
  }

  Chat.prototype.partyLine = function (ev, body) {
    var cls = partyClass(ev);
    var meta = el("div", { class: "line-meta" }, [el("span", { class: "line-who", text: this.nameOf(ev.userId, ev.nickname) })]);
    if (ROLE[cls]) meta.appendChild(el("span", { class: "line-role", text: ROLE[cls] }));
    if (ev.utcTime) meta.appendChild(U.timeEl(ev.utcTime, "line-time"));
    if (ev.visibility && ev.visibility !== "ALL") meta.appendChild(internalMark(ev));
    var li = el("li", { class: "line " + cls }, [meta, body]);
    if (ev.visibility && ev.visibility !== "ALL") li.classList.add("line--internal");
    return li;
  };

  Chat.prototype.eventLine = function (ev, text) {
    var li = el("li", { class: "line line--event" }, [el("p", { class: "line-text", text: text })]);
    if (ev.utcTime) li.insertBefore(U.timeEl(ev.utcTime, "line-time"), li.firstChild);
    if (ev.visibility && ev.visibility !== "ALL") {
      li.classList.add("line--internal");
      li.appendChild(internalMark(ev));
    }
    return li;
  };

  function textBody(text) {
    return el("p", { class: "line-text", text: text || "" });
  }

  /** Puts a line in event-id order; lines still waiting for their id stay last. */
  Chat.prototype.place = function (li, eventId) {
    var ref = null;
    for (var c = this.log.lastElementChild; c; c = c.previousElementSibling) {
      var id = c.hasAttribute("data-event-id") ? Number(c.getAttribute("data-event-id")) : Infinity;
      if (id < eventId) break;
      ref = c;
    }
    var stick = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
    this.log.insertBefore(li, ref);
    if (stick) this.log.scrollTop = this.log.scrollHeight;
  };

  Chat.prototype.addLine = function (ev, li) {
    if (this.lines.has(ev.eventId)) return;
    li.setAttribute("data-event-id", String(ev.eventId));
    li.setAttribute("data-kind", ev.kind);
    this.lines.set(ev.eventId, li);
    this.place(li, ev.eventId);
  };

  /** One transcript event: strict de-duplication by id, then the view. */
  Chat.prototype.process = function (ev, replay) {
    if (!ev || typeof ev.eventId !== "number" || this.seen.has(ev.eventId)) return;
    this.seen.add(ev.eventId);
    if (ev.eventId > this.rec.lastEventId) this.rec.lastEventId = ev.eventId;
    var transient = ev.kind === "notice" && (ev.noticeType === "TYPING_STARTED" || ev.noticeType === "TYPING_STOPPED");
    if (!transient && !replay) this.rec.events.push(ev);
    if (ev.nickname && ev.kind !== "notice") this.nicknames.set(ev.userId, ev.nickname);
    var mine = ev.userId === myUserId();
    var name = this.nameOf(ev.userId, ev.nickname);
    switch (ev.kind) {
      case "newParty":
        if (ev.partyType === "CLIENT" && !this.rec.customer) {
          this.rec.customer = U.customerName(ev.userData) || ev.nickname || "";
          this.render();
        }
        var how = ev.visibility === "INT" ? " started monitoring" : ev.visibility === "VIP" ? " started coaching" : " joined the chat";
        this.addLine(ev, this.eventLine(ev, (mine ? "You" : name) + how + "."));
        break;
      case "partyLeft":
        this.stopTyping(ev.userId);
        var why = ev.reason && ev.reason.code === 8 ? " (chat restored)" : ev.reason && ev.reason.code !== 0 && ev.reason.name ? " (" + ev.reason.name + ")" : "";
        var farewell = ev.text ? ": “" + ev.text + "”" : "";
        this.addLine(ev, this.eventLine(ev, (mine ? "You" : name) + " left the chat" + why + farewell + "."));
        if (mine && !(ev.reason && ev.reason.code === 8) && !replay) this.onLeft();
        break;
      case "message":
        this.stopTyping(ev.userId);
        if (mine) this.resolveOwn(ev.clientMessageId, ev);
        else {
          this.addLine(ev, this.partyLine(ev, textBody(ev.text)));
          this.noteIncoming(replay);
        }
        break;
      case "notice":
        this.processNotice(ev, mine, name, replay);
        break;
      default:
        break;
    }
  };

  Chat.prototype.processNotice = function (ev, mine, name, replay) {
    var type = ev.noticeType;
    var ud = ev.userData || {};
    if (type === "TYPING_STARTED") {
      if (!mine && !replay) this.startTyping(ev);
    } else if (type === "TYPING_STOPPED") {
      this.stopTyping(ev.userId);
    } else if (type === "USER_PUSHED_URL") {
      var body = el("p", { class: "line-text" }, [(mine ? "You" : name) + " pushed a link: ", U.linkOrText(ev.text, "line-url")]);
      this.addLine(ev, this.partyLine(ev, body));
      if (!mine) this.noteIncoming(replay);
    } else if (type === "USER_UPDATE_NICK") {
      var old = this.nicknames.get(ev.userId) || ev.nickname;
      this.nicknames.set(ev.userId, ev.text || ev.nickname);
      this.addLine(ev, this.eventLine(ev, old + " is now " + (ev.text || ev.nickname) + "."));
    } else if (type === "SYS_COMMAND") {
      if (ev.text === "file-uploaded") {
        this.addLine(ev, this.eventLine(ev, name + " sent a file: " + (ud["file-name"] || "file") + "."));
      } else if (ev.text === "file-deleted") {
        this.addLine(ev, this.eventLine(ev, "A file was removed."));
      }
    } else if (type === "IDLE_CONTROL_ALERT" || type === "IDLE_CONTROL_CLOSE") {
      this.addLine(ev, this.eventLine(ev, ev.text || (type === "IDLE_CONTROL_ALERT" ? "Idle alert sent to the customer." : "Closed for inactivity.")));
    } else if (type === "USER_CUSTOM") {
      this.addLine(ev, this.eventLine(ev, name + " sent a notice" + (ev.text ? ": " + ev.text : "") + "."));
    }
  };

  Chat.prototype.noteIncoming = function (replay) {
    if (replay) return;
    if (env.selected !== this.id || document.visibilityState !== "visible" || env.ctx.view() !== "chats") {
      this.unread += 1;
      this.renderUnread();
    }
  };

  Chat.prototype.renderUnread = function () {
    this.tabUnread.hidden = this.unread === 0;
    this.tabUnread.textContent = String(this.unread);
    this.tab.setAttribute("data-unread", String(this.unread));
  };

  // Typing preview of the others ("Customer is typing: …").
  Chat.prototype.startTyping = function (ev) {
    var self = this;
    var cur = this.typers.get(ev.userId);
    if (cur) clearTimeout(cur.timer);
    this.typers.set(ev.userId, {
      customer: ev.partyType === "CLIENT",
      name: this.nameOf(ev.userId, ev.nickname),
      text: ev.text || "",
      timer: setTimeout(function () {
        self.stopTyping(ev.userId);
      }, 30000),
    });
    this.renderTyping();
  };

  Chat.prototype.stopTyping = function (userId) {
    var cur = this.typers.get(userId);
    if (!cur) return;
    clearTimeout(cur.timer);
    this.typers.delete(userId);
    this.renderTyping();
  };

  Chat.prototype.clearTyping = function () {
    this.typers.forEach(function (v) {
      clearTimeout(v.timer);
    });
    this.typers.clear();
    this.renderTyping();
  };

  Chat.prototype.renderTyping = function () {
    var parts = [];
    this.typers.forEach(function (v) {
      if (v.customer) parts.push(v.text ? "Customer is typing: " + v.text : "Customer is typing…");
      else parts.push(v.text ? v.name + " is typing: " + v.text : v.name + " is typing…");
    });
    this.typingEl.textContent = parts.join(" · ");
    this.typingEl.classList.toggle("active", parts.length > 0);
  };

  // Own lines: shown at once, matched to their event by clientMessageId.
  Chat.prototype.pendingLine = function (item) {
    var body = textBody(item.text);
    var meta = el("div", { class: "line-meta" }, [el("span", { class: "line-who", text: "You" }), el("span", { class: "line-pending", text: "sending…" })]);
    if (item.visibility && item.visibility !== "ALL") meta.appendChild(internalMark({ visibility: item.visibility }));
    var li = el("li", { class: "line line--own line--pending-send", "data-cmid": item.cmid }, [meta, body]);
    this.log.appendChild(li);
    this.log.scrollTop = this.log.scrollHeight;
    return li;
  };

  Chat.prototype.findPending = function (cmid) {
    if (!cmid) return null;
    var all = this.log.querySelectorAll(".line--pending-send, .line--failed-send");
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-cmid") === cmid) return all[i];
    return null;
  };

  /** Own event `ev` (or an ack of `cmid` with `eventId`): exactly one line for it. */
  Chat.prototype.resolveOwn = function (cmid, ev, eventId) {
    if (cmid) this.removeFromOutbox(cmid);
    var pending = this.findPending(cmid);
    if (pending) pending.remove();
    if (ev && !this.lines.has(ev.eventId)) this.addLine(ev, this.partyLine(ev, textBody(ev.text)));
    else if (ev && ev.kind === "message" && typeof ev.text === "string") {
      // The line the ack kept shows the text as the server keeps it (masking).
      var body = this.lines.get(ev.eventId).querySelector(".line-text");
      if (body && body.textContent !== ev.text) body.textContent = ev.text;
    } else if (!ev && pending && eventId && !this.lines.has(eventId)) {
      // The ack came first: keep the line until its event arrives (same id, no double).
      pending.classList.remove("line--pending-send");
      var p = pending.querySelector(".line-pending");
      if (p) p.remove();
      pending.setAttribute("data-event-id", String(eventId));
      this.lines.set(eventId, pending);
      this.place(pending, eventId);
    }
  };

  Chat.prototype.removeFromOutbox = function (cmid) {
    this.rec.outbox = this.rec.outbox.filter(function (i) {
      return i.cmid !== cmid;
    });
  };

  Chat.prototype.markFailed = function (cmid, why) {
    this.removeFromOutbox(cmid);
    var li = this.findPending(cmid);
    if (!li) return;
    li.classList.remove("line--pending-send");
    li.classList.add("line--failed-send");
    var p = li.querySelector(".line-pending");
    if (p) p.textContent = "not sent" + (why ? ": " + why : "");
  };

  Chat.prototype.send = function () {
    var text = this.input.value.trim();
    if (!text || this.hold() === "wrapUp") return;
    this.input.value = "";
    clearTimeout(this.typingTimer);
    clearTimeout(this.typingIdle);
    this.typingTimer = null;
    this.typingSent = false;
    var item = { cmid: "d" + U.randomHex(12), text: text };
    if (this.visibility() === "ALL" && this.internalBox.checked) item.visibility = "INT";
    this.rec.outbox.push(item);
    env.ctx.persist();
    this.pendingLine(item);
    env.link.flush(this);
    this.input.focus();
  };

  // Own typing notices, with the text so far as a preview; debounced as the widget does.
  Chat.prototype.sendTyping = function (started) {
    if (!this.subscribed || this.hold() === "wrapUp") return;
    var vis = this.internalBox.checked && this.visibility() === "ALL" ? "INT" : null;
    if (started) {
      env.link.notify(this, "TYPING_STARTED", this.input.value.slice(0, 500), vis);
      this.lastTypingAt = Date.now();
      this.typingSent = true;
    } else if (this.typingSent) {
      env.link.notify(this, "TYPING_STOPPED", null, vis);
      this.typingSent = false;
    }
  };

  Chat.prototype.onComposerInput = function () {
    var self = this;
    clearTimeout(this.typingIdle);
    if (!this.input.value.trim()) {
      clearTimeout(this.typingTimer);
      this.typingTimer = null;
      this.sendTyping(false);
      return;
    }
    if (!this.typingTimer) {
      var wait = Math.max(0, this.lastTypingAt + TYPING_EVERY - Date.now());
      this.typingTimer = setTimeout(function () {
        self.typingTimer = null;
        if (self.input.value.trim()) self.sendTyping(true);
      }, Math.min(wait, TYPING_EVERY) || 250);
    }
    this.typingIdle = setTimeout(function () {
      self.sendTyping(false);
    }, TYPING_IDLE);
  };

  /** Our party left (release, or our own partyLeft): after-chat work. */
  Chat.prototype.onLeft = function () {
    if (this.rec.left) return;
    this.rec.left = true;
    this.subscribed = false;
    this.notice("");
    this.render();
    env.ctx.persist();
  };

  /** The server took us out of the chat (`chatRemoved`: transfer done, re-queued...). */
  Chat.prototype.onRemoved = function (reason) {
    this.rec.removed = true;
    this.subscribed = false;
    this.notice("You were taken out of the chat" + (reason ? " (" + reason + ")" : "") + ". Mark it done when your after-chat work is finished.");
    this.render();
    env.ctx.persist();
  };

  Chat.prototype.onOver = function (end) {
    this.rec.over = true;
    this.subscribed = false;
    var by = end && end.endedBy ? " (ended by " + end.endedBy.toLowerCase() + ")" : "";
    this.notice("The chat is over" + by + ".");
    this.rec.outbox.slice().forEach(function (item) {
      this.markFailed(item.cmid, "the chat is over");
    }, this);
    this.render();
    env.ctx.persist();
  };

  Chat.prototype.destroy = function () {
    clearTimeout(this.typingTimer);
    clearTimeout(this.typingIdle);
    this.clearTyping();
    this.tab.remove();
    this.panel.remove();
  };

  PD.Chat = Chat;
})();
