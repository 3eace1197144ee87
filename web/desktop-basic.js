/*!
 * Parley agent desktop: the basic-protocol connection (/basic) shared by every chat of the
 * desktop, and the chat tabs (`ParleyDesktop.chats`). The connection registers with the
 * login token (`credentials.agentToken`) as AGENT or SUPERVISOR and joins each chat the
 * desktop connection assigns, with the assigned visibility.
 *
 * No line lost or doubled: each chat keeps the events it has shown and its last event id
 * (sessionStorage, so a reload redraws at once); after a drop the connection registers
 * again with the same userId/secureKey (`resume`) and resumes every open chat from its
 * last event id (exponential back-off); a send is retried with the same clientMessageId
 * until it is acknowledged.
 */
(function () {
  "use strict";

  var PD = window.ParleyDesktop;
  var U = PD.util;
  var env = PD.chatEnv;

  var ctx = null; // set by init()
  var chats = new Map(); // interactionId -> Chat
  var order = []; // tab order
  var selected = null;
  var link = null;

  function myUserId() {
    return ctx ? ctx.st.basic.userId : null;
  }

  // ---------------------------------------------------------------------------------
  // The basic-protocol connection

  function Link() {
    var self = this;
    this.reqSeq = 0;
    this.pending = new Map();
    this.registered = false;
    this.epoch = 0;
    this.sock = new U.Socket("/basic", {
      status: function (s) {
        ctx.setConn("basic", s);
      },
      open: function () {
        self.epoch += 1;
        self.registered = false;
        var reg = {
          type: "register",
          nickname: (ctx.st.agent && (ctx.st.agent.nickname || ctx.st.agent.login)) || "Agent",
          partyType: ctx.st.agent && ctx.st.agent.role === "supervisor" ? "SUPERVISOR" : "AGENT",
          clientVersion: 106,
          credentials: { agentToken: ctx.st.token },
        };
        var b = ctx.st.basic;
        if (b.userId && b.secureKey) reg.resume = { userId: b.userId, secureKey: b.secureKey };
        self.request(reg, { kind: "register" });
      },
      frame: function (f) {
        self.onFrame(f);
      },
      lost: function () {
        self.registered = false;
        self.pending.clear();
        chats.forEach(function (c) {
          c.subscribed = false;
          c.inflight = false;
        });
      },
    });
  }

  Link.prototype.request = function (frame, meta) {
    this.reqSeq += 1;
    frame.requestId = this.reqSeq;
    if (!this.sock.send(frame)) return false;
    this.pending.set(this.reqSeq, meta || {});
    return true;
  };

  /** Joins or resumes every chat that should be followed and is not yet. */
  Link.prototype.sync = function () {
    var self = this;
    if (!this.registered) return;
    chats.forEach(function (c) {
      if (c.subscribed || c.inflight || c.hold() === "wrapUp") return;
      c.inflight = true;
      var join = { type: "join", sessionId: c.id, visibility: c.visibility() };
      // With session-password-enforce the chat's password comes with `assigned`.
      if (c.password) join.userData = { GCTI_Chat_SessionPassword: c.password };
      var ok = c.rec.joined
        ? self.request({ type: "resume", sessionId: c.id, lastEventId: c.rec.lastEventId }, { kind: "resume", chat: c })
        : self.request(join, { kind: "join", chat: c });
      if (!ok) c.inflight = false;
    });
  };

  /** Sends what the chat's outbox holds that is not in flight on this connection. */
  Link.prototype.flush = function (chat) {
    var self = this;
    if (!this.registered || !chat.subscribed) return;
    chat.rec.outbox.forEach(function (item) {
      if (item.epoch === self.epoch) return;
      var f = { type: "message", sessionId: chat.id, text: item.text, clientMessageId: item.cmid };
      if (item.visibility) f.visibility = item.visibility;
      if (self.request(f, { kind: "message", chat: chat, cmid: item.cmid })) item.epoch = self.epoch;
    });
  };

  Link.prototype.notify = function (chat, type, text, visibility) {
    if (!this.registered || !chat.subscribed) return false;
    var f = { type: "notify", sessionId: chat.id, noticeType: type };
    if (text) f.text = text;
    if (visibility) f.visibility = visibility;
    if (type !== "TYPING_STARTED" && type !== "TYPING_STOPPED") f.clientMessageId = "n" + U.randomHex(12);
    return this.request(f, { kind: "notify", chat: chat, noticeType: type });
  };

  Link.prototype.release = function (chat, afterAction, text) {
    if (!this.registered || !chat.subscribed) return false;
    var f = { type: "release", sessionId: chat.id, afterAction: afterAction };
    if (text) f.text = text;
    return this.request(f, { kind: "release", chat: chat });
  };

  Link.prototype.onFrame = function (f) {
    var meta = f.requestId !== undefined ? this.pending.get(f.requestId) : null;
    if (meta) this.pending.delete(f.requestId);
    var chat = f.sessionId ? chats.get(f.sessionId) : null;
    switch (f.type) {
      case "registered":
        ctx.st.basic = { userId: f.userId, secureKey: f.secureKey };
        ctx.persist();
        this.registered = true;
        this.sock.settled();
        ctx.setConn("basic", "connected");
        this.sync();
        break;
      case "sessionInfo":
        if (!chat) return;
        chat.inflight = false;
        chat.subscribed = true;
        chat.rec.joined = true;
        (f.parties || []).forEach(function (p) {
          if (p.userId !== myUserId()) chat.nicknames.set(p.userId, p.nickname);
        });
        (f.events || []).forEach(function (e) {
          chat.process(e, false);
        });
        if (f.lastEventId > chat.rec.lastEventId) chat.rec.lastEventId = f.lastEventId;
        ctx.persist();
        this.flush(chat);
        break;
      case "event":
        if (!chat) return;
        chat.process(f.event, false);
        ctx.persist();
        break;
      case "ack":
        if (chat && meta && meta.cmid) {
          chat.resolveOwn(meta.cmid, null, f.eventId);
          ctx.persist();
        }
        break;
      case "released":
        if (chat) chat.onLeft();
        break;
      case "sessionOver":
        if (chat) chat.onOver(f.end);
        break;
      case "error":
        this.onError(f, meta);
        break;
      default:
        break; // transcriptSaved, future frames
    }
  };

  Link.prototype.onError = function (f, meta) {
    var code = f.code;
    if (!meta) return; // connection-level: the close that follows reconnects
    var chat = meta.chat;
    if (meta.kind === "register") {
      if (code === 1009) ctx.onUnauthorized();
      else this.sock.drop(0);
      return;
    }
    if (!chat || !chats.has(chat.id)) return;
    var transient = code === 2006 || code === 5000 || code === 5001;
    if (meta.kind === "join" || meta.kind === "resume") {
      chat.inflight = false;
      if (transient) {
        this.sock.drop(0);
      } else if (code === 2002) {
        chat.onOver(null);
      } else if (meta.kind === "resume" && (code === 8201 || code === 8210)) {
        // Our party is gone (or another identity holds it): join again; duplicates are
        // dropped by event id.
        chat.rec.joined = false;
        this.sync();
      } else if (meta.kind === "join" && code === 2004 && !chat.password) {
        // Joined before the password arrived (a reload redraws chats from storage before
        // `welcome`, which brings it): the `welcome` joins again, with it.
      } else if (meta.kind === "join" && code === 2003 && myUserId()) {
        chat.rec.joined = true;
        this.sync();
      } else {
        chat.notice("Cannot open this chat: " + (f.message || f.name));
      }
    } else if (meta.kind === "message") {
      if (transient) return; // retried on the next connection
      chat.markFailed(meta.cmid, f.message || f.name);
      ctx.persist();
    } else if (meta.kind === "release") {
      if (code === 8201 || code === 2002) chat.onLeft();
      else chat.notice("Release refused: " + (f.message || f.name));
    } else if (meta.kind === "notify" && meta.noticeType === "USER_PUSHED_URL") {
      chat.notice("The link was not pushed: " + (f.message || f.name));
    }
  };

  // ---------------------------------------------------------------------------------
  // Tabs

  function select(id, focus) {
    if (!chats.has(id)) id = order[0] || null;
    selected = id;
    env.selected = id;
    ctx.st.selected = id;
    chats.forEach(function (c) {
      var on = c.id === id;
      c.tab.setAttribute("aria-selected", on ? "true" : "false");
      c.tab.setAttribute("tabindex", on ? "0" : "-1");
      c.panel.hidden = !on;
      if (on) {
        c.unread = 0;
        c.renderUnread();
        c.log.scrollTop = c.log.scrollHeight;
      }
    });
    ctx.emptyEl.hidden = chats.size > 0;
    if (focus && id) chats.get(id).tab.focus();
  }

  function onTabKey(e) {
    var idx = order.indexOf(selected);
    if (idx < 0) return;
    var next = null;
    if (e.key === "ArrowRight") next = order[(idx + 1) % order.length];
    else if (e.key === "ArrowLeft") next = order[(idx - 1 + order.length) % order.length];
    else if (e.key === "Home") next = order[0];
    else if (e.key === "End") next = order[order.length - 1];
    if (next) {
      e.preventDefault();
      select(next, true);
    }
  }

  // ---------------------------------------------------------------------------------
  // API for desktop.js

  /**
   * ctx: { st, persist(), request(frame) -> Promise, setConn(which, state), view(),
   *        onUnauthorized(), tabsEl, panelsEl, emptyEl }
   */
  function init(c) {
    ctx = c;
    ctx.tabsEl.addEventListener("keydown", onTabKey);
    link = new Link();
    env.ctx = ctx;
    env.link = link;
    env.select = select;
    env.remove = remove;
    link.sock.connect();
  }

  /**
   * A chat this desktop holds (`welcome`, `assigned`): open its tab and follow it. `fresh`
   * for `assigned`.
   */
  function upsert(info, focus, fresh) {
    var chat = chats.get(info.interactionId);
    if (chat) chat.update(info, fresh);
    else {
      chat = new PD.Chat(info);
      chats.set(chat.id, chat);
      order.push(chat.id);
      ctx.tabsEl.appendChild(chat.tab);
      ctx.panelsEl.appendChild(chat.panel);
    }
    ctx.persist();
    if (focus || !selected) select(chat.id, false);
    else ctx.emptyEl.hidden = true;
    link.sync();
    return chat;
  }

  /** The chat leaves the desktop (`chatDone`, `chatRemoved`, or not in `welcome`). */
  function remove(id) {
    var chat = chats.get(id);
    delete ctx.st.chats[id];
    ctx.persist();
    if (!chat) return;
    chat.destroy();
    chats.delete(id);
    order = order.filter(function (x) {
      return x !== id;
    });
    if (selected === id) select(order[0] || null, false);
    else ctx.emptyEl.hidden = chats.size > 0;
  }

  /** After `welcome`: exactly the chats the server says this desktop holds. */
  function reconcile(list) {
    var want = new Set((list || []).map(function (c) {
      return c.interactionId;
    }));
    Array.from(chats.keys()).forEach(function (id) {
      if (!want.has(id)) remove(id);
    });
    Object.keys(ctx.st.chats).forEach(function (id) {
      if (!want.has(id)) delete ctx.st.chats[id];
    });
    (list || []).forEach(function (c) {
      upsert(c, false);
    });
    if (ctx.st.selected && chats.has(ctx.st.selected)) select(ctx.st.selected, false);
  }

  function stop() {
    if (link) link.sock.close();
    Array.from(chats.keys()).forEach(function (id) {
      var c = chats.get(id);
      c.destroy();
    });
    chats.clear();
    order = [];
    selected = null;
    env.selected = null;
  }

  PD.chats = {
    init: init,
    upsert: upsert,
    remove: remove,
    reconcile: reconcile,
    stop: stop,
    select: select,
    get: function (id) {
      return chats.get(id) || null;
    },
    has: function (id) {
      return chats.has(id);
    },
    removed: function (id, reason) {
      var c = chats.get(id);
      if (c) c.onRemoved(reason);
    },
    notice: function (id, text) {
      var c = chats.get(id);
      if (c) c.notice(text);
    },
    drop: function (holdMs) {
      if (link) link.sock.drop(holdMs);
    },
    state: function () {
      var out = {};
      chats.forEach(function (c, id) {
        out[id] = {
          lastEventId: c.rec.lastEventId,
          subscribed: c.subscribed,
          hold: c.hold(),
          visibility: c.visibility(),
          outbox: c.rec.outbox.length,
          unread: c.unread,
        };
      });
      return { registered: !!(link && link.registered), userId: myUserId(), selected: selected, chats: out };
    },
  };
})();
