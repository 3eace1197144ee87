/*!
 * Parley agent desktop: shared helpers (DOM, links, time, storage, sound, test hooks).
 * Loaded first; the other desktop-*.js files and desktop.js use `ParleyDesktop.util`.
 * See desktop.js for the element ids and classes the page promises.
 */
(function () {
  "use strict";

  var PD = (window.ParleyDesktop = window.ParleyDesktop || {});

  /** Creates an element; attrs are set with setAttribute (never `style`), text with textContent. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === "text") node.textContent = String(v);
        else if (k === "class") node.className = v;
        else if (k === "style" || /^on/i.test(k)) throw new Error("parley: no inline styles or handlers");
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function randomHex(bytes) {
    var a = new Uint8Array(bytes);
    window.crypto.getRandomValues(a);
    return Array.prototype.map
      .call(a, function (b) {
        return (b < 16 ? "0" : "") + b.toString(16);
      })
      .join("");
  }

  /** An http(s) URL as a string, or null: nothing else ever becomes a link. */
  function safeHttpUrl(text) {
    if (typeof text !== "string") return null;
    var s = text.trim();
    if (!s) return null;
    try {
      var u = new URL(s);
      if (u.protocol === "http:" || u.protocol === "https:") return u.href;
    } catch (e) {
      /* not a URL */
    }
    return null;
  }

  /** A link for an http(s) URL (new tab, no opener), or plain text for anything else. */
  function linkOrText(text, cls) {
    var href = safeHttpUrl(text);
    if (href) return el("a", { class: cls, href: href, target: "_blank", rel: "noopener noreferrer", text: String(text).trim() });
    return el("span", { class: cls + "-text", text: text || "" });
  }

  function formatTime(ms) {
    try {
      return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return "";
    }
  }

  function formatDateTime(ms) {
    try {
      return new Date(ms).toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return "";
    }
  }

  /** 41000 → "41 s", 125000 → "2 min 5 s". */
  function formatWait(ms) {
    var s = Math.max(0, Math.round((Number(ms) || 0) / 1000));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    return m + " min " + (s % 60) + " s";
  }

  /** Reconnect delay: exponential back-off from 0.5 s to 15 s, with jitter. */
  function backoff(retry) {
    return Math.min(15000, 500 * Math.pow(2, retry)) + Math.floor(Math.random() * 300);
  }

  function wsUrl(path) {
    return location.origin.replace(/^http/i, "ws") + path;
  }

  /**
   * A WebSocket to `path` that reconnects itself with back-off until closed: the desktop
   * channel and the basic-protocol link are both one. Its owner gives
   * `h.status(s)` ("connecting", "reconnecting"), `h.open(ws)` when a connection opens,
   * `h.frame(f)` for each JSON frame and `h.lost()` when a connection is lost; events of
   * a connection that has been replaced are ignored. `settled()` resets the back-off once
   * the owner's handshake has succeeded.
   */
  function Socket(path, h) {
    this.path = path;
    this.h = h;
    this.ws = null;
    this.retry = 0;
    this.timer = null;
    this.closed = false;
    this.holdUntil = 0;
  }

  Socket.prototype.connect = function () {
    var self = this;
    if (this.closed) return;
    clearTimeout(this.timer);
    var ws;
    try {
      ws = new WebSocket(wsUrl(this.path));
    } catch (e) {
      this.failed();
      return;
    }
    this.ws = ws;
    this.h.status(this.retry ? "reconnecting" : "connecting");
    ws.onopen = function () {
      if (ws === self.ws) self.h.open(ws);
    };
    ws.onmessage = function (m) {
      if (ws !== self.ws) return;
      var f;
      try {
        f = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      self.h.frame(f);
    };
    ws.onclose = function () {
      if (ws !== self.ws) return;
      self.ws = null;
      self.h.lost();
      self.failed();
    };
    ws.onerror = function () {
      /* onclose follows */
    };
  };

  Socket.prototype.failed = function () {
    var self = this;
    if (this.closed) return;
    this.h.status("reconnecting");
    var delay = Math.max(backoff(this.retry), this.holdUntil - Date.now());
    this.retry += 1;
    this.timer = setTimeout(function () {
      self.connect();
    }, delay);
  };

  Socket.prototype.settled = function () {
    this.retry = 0;
  };

  Socket.prototype.isOpen = function () {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  };

  /** Sends a frame as JSON; false when there is no open connection to send it on. */
  Socket.prototype.send = function (frame) {
    if (!this.isOpen()) return false;
    try {
      this.ws.send(JSON.stringify(frame));
    } catch (e) {
      return false;
    }
    return true;
  };

  /** Closes for good (logout, page leaving): no reconnect. */
  Socket.prototype.close = function () {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) {
      var ws = this.ws;
      this.ws = null;
      try {
        ws.close();
      } catch (e) {
        /* already closed */
      }
    }
  };

  /** Closes the connection as a network failure would: it reconnects itself, not before
   * `holdMs` (the test hooks use a hold; a failed handshake uses 0). */
  Socket.prototype.drop = function (holdMs) {
    this.holdUntil = Date.now() + (holdMs || 0);
    if (this.ws) this.ws.close();
  };

  function timeEl(ms, cls) {
    return el("time", { class: cls || "time", datetime: new Date(ms).toISOString(), text: formatTime(ms) });
  }

  /** The customer's name from user data, or "". */
  /**
   * The badge of a customer's identity (docs/security.md, "Verified visitor identity"):
   * `verified` or `unverified` as the server says; null when the tenant does not check.
   */
  function identityBadge(identity) {
    if (identity !== "verified" && identity !== "unverified") return null;
    var verified = identity === "verified";
    return el("span", {
      class: "identity-badge identity-badge--" + identity,
      "data-identity": identity,
      text: verified ? "✓ verified" : "unverified",
      title: verified
        ? "The website vouched for this customer's identity"
        : "Not verified by the website: what the customer says about itself is unconfirmed, and no contact record was matched",
    });
  }

  function customerName(ud) {
    ud = ud || {};
    var name = [ud.FirstName, ud.LastName].filter(Boolean).join(" ").trim();
    return name || ud.EmailAddress || "";
  }

  // ---------------------------------------------------------------------------------
  // Storage (sessionStorage: a reload stays logged in, a closed tab does not)

  var KEY = "parley-desktop:" + location.origin;
  var MAX_EVENTS = 500;

  function freshState() {
    return {
      v: 1,
      token: null,
      expiresAt: 0,
      agent: null,
      basic: { userId: null, secureKey: null }, // the basic-protocol identity, to resume
      chats: {}, // interactionId -> chat record (see desktop-chat.js)
      selected: null,
      view: "chats",
    };
  }

  function load() {
    try {
      var raw = window.sessionStorage.getItem(KEY);
      if (!raw) return freshState();
      var s = JSON.parse(raw);
      if (!s || s.v !== 1) return freshState();
      return Object.assign(freshState(), s);
    } catch (e) {
      return freshState();
    }
  }

  function save(st) {
    try {
      Object.keys(st.chats).forEach(function (id) {
        var c = st.chats[id];
        if (c.events && c.events.length > MAX_EVENTS) c.events = c.events.slice(-MAX_EVENTS);
      });
      window.sessionStorage.setItem(KEY, JSON.stringify(st));
    } catch (e) {
      /* storage full or disabled: the desktop still works, a reload starts over */
    }
  }

  function wipe() {
    try {
      window.sessionStorage.removeItem(KEY);
    } catch (e) {
      /* nothing stored */
    }
  }

  // ---------------------------------------------------------------------------------
  // Sound: a short beep with WebAudio (no audio file)

  var audio = null;
  var beeps = 0;

  /** Creates or resumes the audio context; call from a user gesture (login, ready). */
  function unlockAudio() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!audio && Ctx) audio = new Ctx();
      if (audio && audio.state === "suspended") audio.resume();
    } catch (e) {
      audio = null;
    }
  }

  function beep() {
    beeps += 1;
    if (!audio) unlockAudio();
    if (!audio) return;
    try {
      var t = audio.currentTime;
      [0, 0.22].forEach(function (at) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.type = "sine";
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, t + at);
        gain.gain.exponentialRampToValueAtTime(0.25, t + at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.16);
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(t + at);
        osc.stop(t + at + 0.18);
      });
    } catch (e) {
      /* no sound: the offer is still shown */
    }
  }

  // ---------------------------------------------------------------------------------
  // Script errors and CSP violations, for the test hooks

  var errors = [];
  var cspViolations = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message || e));
  });
  window.addEventListener("unhandledrejection", function (e) {
    errors.push("unhandled rejection: " + String(e.reason && (e.reason.stack || e.reason)));
  });
  document.addEventListener("securitypolicyviolation", function (e) {
    cspViolations.push(e.violatedDirective + " " + e.blockedURI);
  });

  PD.util = {
    el: el,
    clear: clear,
    randomHex: randomHex,
    safeHttpUrl: safeHttpUrl,
    linkOrText: linkOrText,
    formatTime: formatTime,
    formatDateTime: formatDateTime,
    formatWait: formatWait,
    timeEl: timeEl,
    customerName: customerName,
    identityBadge: identityBadge,
    Socket: Socket,
    load: load,
    save: save,
    wipe: wipe,
    freshState: freshState,
    unlockAudio: unlockAudio,
    beep: beep,
    beeps: function () {
      return beeps;
    },
    errors: function () {
      return errors.slice();
    },
    cspViolations: function () {
      return cspViolations.slice();
    },
  };
})();
