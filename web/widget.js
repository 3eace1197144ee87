/*!
 * Parley customer chat widget. One script tag, no build step, no dependencies.
 *
 *   <script>window.ParleyChat = { lang: "de", title: "Hilfe" };</script>   (or a file)
 *   <script src="https://chat.example.com/web/widget.js" defer></script>
 *
 * Config (window.ParleyChat, or data- attributes on this script tag; the object wins):
 *   serverUrl   Parley's origin (default: this script's own origin)
 *   endpoint    createSession / join endpoint (`endpoint` or `tenant:endpoint`)
 *   lang        "en", "de", "fr" ... (default: navigator.language)
 *   title       panel title
 *   strings     overrides of the strings table, { key: "text" } or { lang: { key: "text" } }
 *   userData    extra session user data (string values)
 *   identity    the visitor's identity as the website signed it (docs/security.md):
 *               { identifier, hash } or { token }; sent as the user data Identifier +
 *               IdentifierHash, or IdentityToken
 *   transport   "auto" (default: WebSocket, flex long-poll when it cannot connect),
 *               "basic" or "flex"
 *   testHooks   true to expose window.__parleyTest (the demo page and browser tests)
 *
 * Protocols: the basic protocol (JSON frames on a WebSocket at /basic) first; the flex
 * protocol (POST /flex/v1/*, long-poll refresh) when the WebSocket cannot connect. Files
 * use /flex/v1/file/* with either identity.
 *
 * Safety: every piece of data is written with textContent or as an attribute value;
 * links are http(s) only. No inline script or style is created (strict CSP).
 */
(function () {
  "use strict";

  if (window.__parleyChatLoaded) return;
  window.__parleyChatLoaded = true;

  var script = document.currentScript;

  // ---------------------------------------------------------------------------------
  // Strings

  var STRINGS = {
    en: {
      launcher: "Chat with us",
      launcherUnread: "Chat with us ({count} new)",
      title: "Chat",
      close: "Close chat window",
      prechatIntro: "Tell us who you are and an agent will be with you shortly.",
      name: "Name",
      email: "Email",
      subject: "Subject",
      optional: "optional",
      start: "Start chat",
      nameRequired: "Please enter your name.",
      emailInvalid: "Please enter a valid email address.",
      connecting: "Connecting…",
      connected: "Connected",
      reconnecting: "Connection lost. Reconnecting…",
      unavailable: "Chat is not available right now. Please try again later.",
      identityRequired: "Please sign in to the website to chat with us.",
      logLabel: "Conversation",
      messageLabel: "Message",
      messagePlaceholder: "Type your message…",
      send: "Send",
      attach: "Attach a file",
      fileLimits: "Files up to {size} each, {count} more allowed.",
      fileTypes: "Allowed types: {types}.",
      fileNoMore: "No more files can be sent in this chat.",
      fileTooBig: "{name} is too large (the limit is {size}).",
      fileTypeNotAllowed: "{name} cannot be sent: allowed types are {types}.",
      fileTotalExceeded: "{name} would go over the {size} allowed in this chat.",
      uploading: "Sending {name}…",
      uploaded: "{name} was sent.",
      uploadFailed: "{name} could not be sent: {reason}",
      fileShared: "{name} sent a file",
      download: "Download {file} ({size})",
      downloading: "Downloading {file}…",
      downloadFailed: "{file} could not be downloaded: {reason}",
      fileDeleted: "A file was removed.",
      chatStarted: "Chat started. An agent will be with you shortly.",
      restored: "The chat was interrupted and has been restored.",
      rejoined: "You are back in the chat.",
      joined: "{name} joined the chat.",
      left: "{name} left the chat.",
      youLeft: "You left the chat.",
      nickChanged: "{old} is now {new}.",
      youAreNow: "You are now {new}.",
      pushedUrl: "{name} shared a link:",
      typingOne: "{name} is typing…",
      typingMany: "{names} are typing…",
      you: "You",
      bot: "Bot",
      agent: "Agent",
      sending: "Sending…",
      notSent: "Not sent",
      read: "Read",
      ended: "This chat has ended.",
      sessionLost: "This chat is no longer available.",
      newChat: "Start a new chat",
      endChat: "End chat",
      endConfirm: "End this chat?",
      changeName: "Change name",
      newName: "New name",
      save: "Save",
      cancel: "Cancel",
      idle: "Are you still there?",
      bytes: "{n} bytes",
      kb: "{n} KB",
      mb: "{n} MB",
      and: "and",
    },
    de: {
      launcher: "Chat starten",
      launcherUnread: "Chat starten ({count} neu)",
      title: "Chat",
      close: "Chatfenster schließen",
      prechatIntro: "Sagen Sie uns, wer Sie sind – gleich ist jemand für Sie da.",
      name: "Name",
      email: "E-Mail",
      subject: "Betreff",
      optional: "optional",
      start: "Chat beginnen",
      nameRequired: "Bitte geben Sie Ihren Namen ein.",
      emailInvalid: "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
      connecting: "Verbindung wird hergestellt…",
      connected: "Verbunden",
      reconnecting: "Verbindung unterbrochen. Neuer Versuch…",
      unavailable: "Der Chat ist gerade nicht verfügbar. Bitte versuchen Sie es später erneut.",
      identityRequired: "Bitte melden Sie sich auf der Website an, um mit uns zu chatten.",
      logLabel: "Unterhaltung",
      messageLabel: "Nachricht",
      messagePlaceholder: "Nachricht eingeben…",
      send: "Senden",
      attach: "Datei anhängen",
      fileLimits: "Dateien bis {size}, noch {count} möglich.",
      fileTypes: "Erlaubte Typen: {types}.",
      fileNoMore: "In diesem Chat können keine weiteren Dateien gesendet werden.",
      fileTooBig: "{name} ist zu groß (höchstens {size}).",
      fileTypeNotAllowed: "{name} kann nicht gesendet werden: erlaubt sind {types}.",
      fileTotalExceeded: "{name} würde die in diesem Chat erlaubten {size} überschreiten.",
      uploading: "{name} wird gesendet…",
      uploaded: "{name} wurde gesendet.",
      uploadFailed: "{name} konnte nicht gesendet werden: {reason}",
      fileShared: "{name} hat eine Datei gesendet",
      download: "{file} herunterladen ({size})",
      downloading: "{file} wird heruntergeladen…",
      downloadFailed: "{file} konnte nicht heruntergeladen werden: {reason}",
      fileDeleted: "Eine Datei wurde entfernt.",
      chatStarted: "Chat begonnen. Gleich ist jemand für Sie da.",
      restored: "Der Chat wurde unterbrochen und wiederhergestellt.",
      rejoined: "Sie sind wieder im Chat.",
      joined: "{name} ist dem Chat beigetreten.",
      left: "{name} hat den Chat verlassen.",
      youLeft: "Sie haben den Chat verlassen.",
      nickChanged: "{old} heißt jetzt {new}.",
      youAreNow: "Sie heißen jetzt {new}.",
      pushedUrl: "{name} hat einen Link geteilt:",
      typingOne: "{name} schreibt…",
      typingMany: "{names} schreiben…",
      you: "Sie",
      bot: "Bot",
      agent: "Mitarbeiter",
      sending: "Wird gesendet…",
      notSent: "Nicht gesendet",
      read: "Gelesen",
      ended: "Dieser Chat ist beendet.",
      sessionLost: "Dieser Chat ist nicht mehr verfügbar.",
      newChat: "Neuen Chat beginnen",
      endChat: "Chat beenden",
      endConfirm: "Diesen Chat beenden?",
      changeName: "Namen ändern",
      newName: "Neuer Name",
      save: "Speichern",
      cancel: "Abbrechen",
      idle: "Sind Sie noch da?",
      bytes: "{n} Byte",
      kb: "{n} KB",
      mb: "{n} MB",
      and: "und",
    },
    fr: {
      launcher: "Discuter avec nous",
      launcherUnread: "Discuter avec nous ({count} nouveau(x))",
      title: "Chat",
      close: "Fermer la fenêtre de discussion",
      prechatIntro: "Présentez-vous et un conseiller vous répondra dans un instant.",
      name: "Nom",
      email: "E-mail",
      subject: "Objet",
      optional: "facultatif",
      start: "Démarrer la discussion",
      nameRequired: "Veuillez indiquer votre nom.",
      emailInvalid: "Veuillez indiquer une adresse e-mail valide.",
      connecting: "Connexion…",
      connected: "Connecté",
      reconnecting: "Connexion perdue. Reconnexion…",
      unavailable: "La discussion n’est pas disponible pour le moment. Veuillez réessayer plus tard.",
      identityRequired: "Veuillez vous connecter au site pour discuter avec nous.",
      logLabel: "Conversation",
      messageLabel: "Message",
      messagePlaceholder: "Écrivez votre message…",
      send: "Envoyer",
      attach: "Joindre un fichier",
      fileLimits: "Fichiers jusqu’à {size}, encore {count} autorisé(s).",
      fileTypes: "Types autorisés : {types}.",
      fileNoMore: "Vous ne pouvez plus envoyer de fichier dans cette discussion.",
      fileTooBig: "{name} est trop volumineux (maximum {size}).",
      fileTypeNotAllowed: "{name} ne peut pas être envoyé : types autorisés {types}.",
      fileTotalExceeded: "{name} dépasserait les {size} autorisés dans cette discussion.",
      uploading: "Envoi de {name}…",
      uploaded: "{name} a été envoyé.",
      uploadFailed: "{name} n’a pas pu être envoyé : {reason}",
      fileShared: "{name} a envoyé un fichier",
      download: "Télécharger {file} ({size})",
      downloading: "Téléchargement de {file}…",
      downloadFailed: "{file} n’a pas pu être téléchargé : {reason}",
      fileDeleted: "Un fichier a été supprimé.",
      chatStarted: "Discussion démarrée. Un conseiller va vous répondre.",
      restored: "La discussion a été interrompue puis rétablie.",
      rejoined: "Vous êtes de retour dans la discussion.",
      joined: "{name} a rejoint la discussion.",
      left: "{name} a quitté la discussion.",
      youLeft: "Vous avez quitté la discussion.",
      nickChanged: "{old} s’appelle maintenant {new}.",
      youAreNow: "Vous vous appelez maintenant {new}.",
      pushedUrl: "{name} a partagé un lien :",
      typingOne: "{name} écrit…",
      typingMany: "{names} écrivent…",
      you: "Vous",
      bot: "Robot",
      agent: "Conseiller",
      sending: "Envoi…",
      notSent: "Non envoyé",
      read: "Lu",
      ended: "Cette discussion est terminée.",
      sessionLost: "Cette discussion n’est plus disponible.",
      newChat: "Démarrer une nouvelle discussion",
      endChat: "Terminer",
      endConfirm: "Terminer cette discussion ?",
      changeName: "Changer de nom",
      newName: "Nouveau nom",
      save: "Enregistrer",
      cancel: "Annuler",
      idle: "Êtes-vous toujours là ?",
      bytes: "{n} octets",
      kb: "{n} Ko",
      mb: "{n} Mo",
      and: "et",
    },
  };

  // ---------------------------------------------------------------------------------
  // Config

  function readConfig() {
    var fromWindow = window.ParleyChat && typeof window.ParleyChat === "object" ? window.ParleyChat : {};
    var ds = (script && script.dataset) || {};
    function pick(key, attr) {
      if (fromWindow[key] !== undefined && fromWindow[key] !== null) return fromWindow[key];
      return ds[attr || key];
    }
    function json(v) {
      if (typeof v !== "string") return v;
      try {
        return JSON.parse(v);
      } catch (e) {
        return undefined;
      }
    }
    var scriptOrigin = location.origin;
    try {
      if (script && script.src) scriptOrigin = new URL(script.src, location.href).origin;
    } catch (e) {
      /* keep the page's origin */
    }
    var server = String(pick("serverUrl") || scriptOrigin).replace(/\/+$/, "");
    var hooks = pick("testHooks");
    var userData = Object.assign({}, json(ds.userData) || {}, json(fromWindow.userData) || {});
    var cleanUserData = {};
    Object.keys(userData).forEach(function (k) {
      if (userData[k] !== undefined && userData[k] !== null) cleanUserData[k] = String(userData[k]);
    });
    return {
      serverUrl: server,
      endpoint: pick("endpoint") ? String(pick("endpoint")) : undefined,
      lang: pick("lang") ? String(pick("lang")) : undefined,
      title: pick("title") ? String(pick("title")) : undefined,
      strings: json(pick("strings")) || {},
      userData: cleanUserData,
      identity: identityUserData(json(pick("identity"))),
      transport: String(pick("transport") || "auto"),
      testHooks: hooks === true || hooks === "true" || hooks === "",
    };
  }

  /** The user data that carries a signed identity ({identifier, hash} or {token}). */
  function identityUserData(id) {
    var ud = {};
    if (!id || typeof id !== "object") return ud;
    if (id.token) {
      ud.IdentityToken = String(id.token);
    } else if (id.identifier && id.hash) {
      ud.Identifier = String(id.identifier);
      ud.IdentifierHash = String(id.hash);
    }
    return ud;
  }

  var config = readConfig();

  function chooseLang() {
    var wanted = [config.lang].concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < wanted.length; i++) {
      if (!wanted[i]) continue;
      var base = String(wanted[i]).toLowerCase().split("-")[0];
      if (STRINGS[base]) return base;
    }
    return "en";
  }

  var lang = chooseLang();
  var strings = Object.assign({}, STRINGS.en, STRINGS[lang]);
  (function applyOverrides(o) {
    if (!o || typeof o !== "object") return;
    if (o[lang] && typeof o[lang] === "object") o = o[lang];
    Object.keys(o).forEach(function (k) {
      if (typeof o[k] === "string") strings[k] = o[k];
    });
  })(config.strings);
  if (config.title) strings.title = config.title;

  function t(key, vars) {
    var s = strings[key] !== undefined ? strings[key] : key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        return vars[name] !== undefined ? String(vars[name]) : m;
      });
    }
    return s;
  }

  function formatSize(n) {
    n = Number(n) || 0;
    if (n < 1024) return t("bytes", { n: n });
    if (n < 1024 * 1024) return t("kb", { n: (n / 1024).toFixed(n < 10240 ? 1 : 0) });
    return t("mb", { n: (n / 1048576).toFixed(1) });
  }

  function formatTime(ms) {
    try {
      return new Date(ms).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return "";
    }
  }

  // ---------------------------------------------------------------------------------
  // Small helpers

  var uid = 0;
  function nextDomId(name) {
    uid += 1;
    return "parley-" + name + "-" + uid;
  }

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

  function randomHex(bytes) {
    var a = new Uint8Array(bytes);
    (window.crypto || window.msCrypto).getRandomValues(a);
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

  function isBotEvent(ev) {
    try {
      var st = ev.eventAttributes && ev.eventAttributes.GCTI_SYSTEM && ev.eventAttributes.GCTI_SYSTEM["party-info"];
      if (st && String(st.style).toUpperCase() === "BOT") return true;
    } catch (e) {
      /* no attributes */
    }
    return !!(ev.userData && String(ev.userData.GCTI_Chat_PartyStyle || "").toUpperCase() === "BOT");
  }

  var testErrors = [];
  var cspViolations = [];
  if (config.testHooks) {
    window.addEventListener("error", function (e) {
      testErrors.push(String(e.message || e));
    });
    window.addEventListener("unhandledrejection", function (e) {
      testErrors.push("unhandled rejection: " + String(e.reason && (e.reason.stack || e.reason)));
    });
    document.addEventListener("securitypolicyviolation", function (e) {
      cspViolations.push(e.violatedDirective + " " + e.blockedURI);
    });
  }

  // ---------------------------------------------------------------------------------
  // Persistent state (sessionStorage: survives a reload, not a closed tab)

  var STORAGE_KEY = "parley-chat:" + config.serverUrl + ":" + (config.endpoint || "default");
  var MAX_CACHED_EVENTS = 400;

  function freshState() {
    return {
      v: 1,
      transport: null, // "basic" | "flex"
      userId: null,
      secureKey: null,
      sessionId: null,
      lastEventId: 0,
      flexPosition: 1,
      nickname: "",
      email: "",
      subject: "",
      events: [], // the events shown, to rebuild the conversation after a reload
      outbox: [], // unacknowledged sends, retried with the same clientMessageId
      readUpTo: 0, // highest last-event-id an agent confirmed reading
      readSent: 0, // highest last-event-id this customer confirmed
      ended: false,
      endedKey: null,
      open: false,
    };
  }

  function loadState() {
    try {
      var raw = window.sessionStorage.getItem(STORAGE_KEY);
      if (!raw) return freshState();
      var s = JSON.parse(raw);
      if (!s || s.v !== 1) return freshState();
      return Object.assign(freshState(), s);
    } catch (e) {
      return freshState();
    }
  }

  var st = loadState();

  function persist() {
    try {
      if (st.events.length > MAX_CACHED_EVENTS) st.events = st.events.slice(-MAX_CACHED_EVENTS);
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(st));
    } catch (e) {
      /* storage full or disabled: the chat still works, a reload starts over */
    }
  }

  // Runtime-only state.
  var seen = new Set(); // every processed event id (strict de-duplication)
  var lines = new Map(); // event id -> rendered line
  var nicknames = new Map(); // user id -> nickname
  var bots = new Set(); // user ids of bots
  var typers = new Map(); // user id -> {name, timer}
  var files = new Map(); // file id -> {name, size, button}
  var ownJoinSeen = false; // the first own join starts the chat; later ones are returns
  var limits = null;
  var unread = 0;

  // ---------------------------------------------------------------------------------
  // DOM

  var root = el("div", { class: "pc-root", lang: lang, "data-state": "idle" });
  var ids = {
    panel: nextDomId("panel"),
    title: nextDomId("title"),
    name: nextDomId("name"),
    email: nextDomId("email"),
    subject: nextDomId("subject"),
    prechatError: nextDomId("prechat-error"),
    message: nextDomId("message"),
    file: nextDomId("file"),
    fileHint: nextDomId("file-hint"),
    nick: nextDomId("nick"),
    log: nextDomId("log"),
  };

  var launcherLabel = el("span", { class: "pc-launcher-label", text: t("launcher") });
  var launcher = el(
    "button",
    { type: "button", class: "pc-launcher", "aria-expanded": "false", "aria-controls": ids.panel },
    [el("span", { class: "pc-launcher-icon", "aria-hidden": "true" }), launcherLabel]
  );

  var statusEl = el("p", { class: "pc-status", role: "status", "aria-live": "polite" });
  var nickButton = el("button", { type: "button", class: "pc-link-button pc-nick-button", hidden: true, text: t("changeName") });
  var endButton = el("button", { type: "button", class: "pc-link-button pc-end-button", hidden: true, text: t("endChat") });
  var closeButton = el("button", { type: "button", class: "pc-icon-button pc-close", "aria-label": t("close"), title: t("close") }, [
    el("span", { "aria-hidden": "true", text: "×" }),
  ]);

  var header = el("header", { class: "pc-header" }, [
    el("div", { class: "pc-header-text" }, [el("h2", { id: ids.title, class: "pc-title", text: strings.title }), statusEl]),
    closeButton,
    el("div", { class: "pc-header-actions" }, [nickButton, endButton]),
  ]);

  // Pre-chat form.
  function field(id, labelKey, input, optional) {
    var label = el("label", { for: id, class: "pc-label" }, [t(labelKey)]);
    if (optional) label.appendChild(el("span", { class: "pc-optional", text: " (" + t("optional") + ")" }));
    return el("div", { class: "pc-field" }, [label, input]);
  }
  var nameInput = el("input", {
    id: ids.name,
    name: "name",
    type: "text",
    autocomplete: "name",
    maxlength: "64",
    required: true,
    "aria-describedby": ids.prechatError,
  });
  var emailInput = el("input", { id: ids.email, name: "email", type: "email", autocomplete: "email", maxlength: "254" });
  var subjectInput = el("input", { id: ids.subject, name: "subject", type: "text", maxlength: "200" });
  var prechatError = el("p", { id: ids.prechatError, class: "pc-error", role: "alert" });
  var startButton = el("button", { type: "submit", class: "pc-button pc-primary pc-start", text: t("start") });
  var prechat = el("form", { class: "pc-prechat", novalidate: true, "aria-labelledby": ids.title }, [
    el("p", { class: "pc-intro", text: t("prechatIntro") }),
    field(ids.name, "name", nameInput),
    field(ids.email, "email", emailInput, true),
    field(ids.subject, "subject", subjectInput, true),
    prechatError,
    startButton,
  ]);

  // Conversation.
  var log = el("ol", {
    id: ids.log,
    class: "pc-log",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-label": t("logLabel"),
    tabindex: "0",
  });
  var typingEl = el("p", { class: "pc-typing", role: "status", "aria-live": "polite" });

  var nickInput = el("input", { id: ids.nick, type: "text", maxlength: "64", autocomplete: "nickname" });
  var nickForm = el("form", { class: "pc-nick-form", hidden: true }, [
    el("label", { for: ids.nick, class: "pc-label", text: t("newName") }),
    el("div", { class: "pc-row" }, [
      nickInput,
      el("button", { type: "submit", class: "pc-button pc-primary", text: t("save") }),
      el("button", { type: "button", class: "pc-button pc-nick-cancel", text: t("cancel") }),
    ]),
  ]);

  var endConfirm = el("div", { class: "pc-confirm", hidden: true, role: "group", "aria-label": t("endConfirm") }, [
    el("p", { text: t("endConfirm") }),
    el("div", { class: "pc-row" }, [
      el("button", { type: "button", class: "pc-button pc-primary pc-end-yes", text: t("endChat") }),
      el("button", { type: "button", class: "pc-button pc-end-no", text: t("cancel") }),
    ]),
  ]);

  var endedText = el("p", { class: "pc-ended-text", text: t("ended") });
  var newChatButton = el("button", { type: "button", class: "pc-button pc-primary pc-new-chat", text: t("newChat") });
  var endedBox = el("div", { class: "pc-ended", hidden: true, role: "status" }, [endedText, newChatButton]);

  var textarea = el("textarea", {
    id: ids.message,
    class: "pc-input",
    rows: "2",
    maxlength: "4000",
    placeholder: t("messagePlaceholder"),
    "aria-describedby": ids.fileHint,
  });
  var fileInput = el("input", { id: ids.file, type: "file", class: "pc-file-input pc-visually-hidden", "aria-describedby": ids.fileHint });
  var fileLabel = el("label", { for: ids.file, class: "pc-icon-button pc-attach", title: t("attach") }, [
    el("span", { class: "pc-attach-icon", "aria-hidden": "true" }),
    el("span", { class: "pc-visually-hidden", text: t("attach") }),
  ]);
  var fileBox = el("div", { class: "pc-file", hidden: true }, [fileInput, fileLabel]);
  var sendButton = el("button", { type: "submit", class: "pc-button pc-primary pc-send", text: t("send") });
  var fileHint = el("p", { id: ids.fileHint, class: "pc-hint" });
  var notice = el("p", { class: "pc-notice", role: "status", "aria-live": "polite" });
  var composer = el("form", { class: "pc-composer" }, [
    el("label", { for: ids.message, class: "pc-visually-hidden", text: t("messageLabel") }),
    el("div", { class: "pc-row pc-compose-row" }, [fileBox, textarea, sendButton]),
    fileHint,
    notice,
  ]);

  var chat = el("div", { class: "pc-chat", hidden: true }, [log, typingEl, nickForm, endConfirm, endedBox, composer]);

  var panel = el(
    "section",
    { id: ids.panel, class: "pc-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": ids.title, hidden: true },
    [header, el("div", { class: "pc-body" }, [prechat, chat])]
  );

  root.appendChild(panel);
  root.appendChild(launcher);

  function ensureStylesheet() {
    var href = config.serverUrl + "/web/widget.css";
    var links = document.querySelectorAll('link[rel="stylesheet"]');
    for (var i = 0; i < links.length; i++) {
      if (links[i].href && links[i].href.split("?")[0] === href) return;
    }
    document.head.appendChild(el("link", { rel: "stylesheet", href: href }));
  }

  // ---------------------------------------------------------------------------------
  // View state

  function setStatus(key) {
    statusEl.textContent = key ? t(key) : "";
    root.setAttribute("data-connection", key || "");
  }

  function showNotice(text) {
    notice.textContent = text || "";
  }

  function isOpen() {
    return !panel.hidden;
  }

  function updateLauncher() {
    launcherLabel.textContent = unread > 0 && !isOpen() ? t("launcherUnread", { count: unread }) : t("launcher");
    launcher.classList.toggle("pc-has-unread", unread > 0 && !isOpen());
  }

  function openPanel(focus) {
    panel.hidden = false;
    root.classList.add("pc-open");
    launcher.setAttribute("aria-expanded", "true");
    st.open = true;
    persist();
    unread = 0;
    updateLauncher();
    if (focus !== false) focusDefault();
    scrollToEnd(true);
    maybeSendReadConfirm();
  }

  function closePanel() {
    panel.hidden = true;
    root.classList.remove("pc-open");
    launcher.setAttribute("aria-expanded", "false");
    st.open = false;
    persist();
    updateLauncher();
    launcher.focus();
  }

  function focusDefault() {
    if (!prechat.hidden) {
      nameInput.focus();
    } else if (!endedBox.hidden) {
      newChatButton.focus();
    } else if (!textarea.disabled) {
      textarea.focus();
    }
  }

  function setPhase(phase) {
    root.setAttribute("data-state", phase);
    var chatting = phase === "chatting" || phase === "connecting";
    prechat.hidden = phase !== "idle";
    chat.hidden = phase === "idle";
    nickButton.hidden = !(phase === "chatting");
    endButton.hidden = !(phase === "chatting");
    endedBox.hidden = phase !== "ended";
    composer.hidden = phase === "ended";
    textarea.disabled = !chatting;
    sendButton.disabled = !chatting;
    fileInput.disabled = !chatting;
    if (phase !== "chatting") {
      nickForm.hidden = true;
      endConfirm.hidden = true;
    }
    if (phase === "ended") {
      typers.forEach(function (v) {
        clearTimeout(v.timer);
      });
      typers.clear();
      renderTyping();
      setStatus(null);
    }
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function scrollToEnd(force) {
    if (force || nearBottom()) log.scrollTop = log.scrollHeight;
  }

  // ---------------------------------------------------------------------------------
  // Rendering events

  function displayName(userId, fallback) {
    if (userId && userId === st.userId) return t("you");
    return nicknames.get(userId) || fallback || "";
  }

  /** Puts a line in event-id order; lines still waiting for their id stay last. */
  function placeLine(li, eventId) {
    var ref = null;
    for (var c = log.lastElementChild; c; c = c.previousElementSibling) {
      var id = c.hasAttribute("data-event-id") ? Number(c.getAttribute("data-event-id")) : Infinity;
      if (id < eventId) break;
      ref = c;
    }
    var stick = nearBottom();
    log.insertBefore(li, ref);
    if (stick) scrollToEnd(true);
  }

  function partyClass(ev) {
    if (ev.userId === st.userId) return "pc-line--own";
    if (bots.has(ev.userId) || isBotEvent(ev)) return "pc-line--bot";
    if (ev.partyType === "CLIENT") return "pc-line--customer";
    if (ev.partyType === "SYSTEM" || ev.partyType === "EXTERNAL") return "pc-line--system";
    return "pc-line--agent";
  }

  function roleLabel(cls) {
    if (cls === "pc-line--bot") return t("bot");
    if (cls === "pc-line--agent") return t("agent");
    return null;
  }

  /** A line from a party: meta (who, when) and a body. */
  function partyLine(ev, body) {
    var cls = partyClass(ev);
    var own = cls === "pc-line--own";
    var who = el("span", { class: "pc-who", text: own ? t("you") : displayName(ev.userId, ev.nickname) });
    var role = roleLabel(cls);
    var meta = el("div", { class: "pc-meta" }, [who]);
    if (role) meta.appendChild(el("span", { class: "pc-role", text: role }));
    if (ev.utcTime) {
      meta.appendChild(el("time", { class: "pc-time", datetime: new Date(ev.utcTime).toISOString(), text: formatTime(ev.utcTime) }));
    }
    var li = el("li", { class: "pc-line " + cls }, [meta, body]);
    if (own) addOwnMarkers(li);
    return li;
  }

  function addOwnMarkers(li) {
    li.appendChild(
      el("span", { class: "pc-state" }, [
        el("span", { class: "pc-pending", hidden: true, text: t("sending") }),
        el("span", { class: "pc-failed", hidden: true, text: t("notSent") }),
        el("span", { class: "pc-tick", hidden: true, title: t("read") }, [
          el("span", { "aria-hidden": "true", text: "✓✓" }),
          el("span", { class: "pc-visually-hidden", text: t("read") }),
        ]),
      ])
    );
  }

  function systemLine(text) {
    return el("li", { class: "pc-line pc-line--system" }, [el("p", { class: "pc-text", text: text })]);
  }

  function textBody(text) {
    return el("p", { class: "pc-text", text: text || "" });
  }

  function addLine(ev, li) {
    li.setAttribute("data-event-id", String(ev.eventId));
    lines.set(ev.eventId, li);
    placeLine(li, ev.eventId);
    applyTick(li);
  }

  function applyTick(li) {
    if (!li.classList.contains("pc-line--own")) return;
    var id = Number(li.getAttribute("data-event-id"));
    var tick = li.querySelector(".pc-tick");
    var read = id > 0 && id <= st.readUpTo;
    if (tick) tick.hidden = !read;
    li.classList.toggle("pc-read", read);
  }

  function applyTicks() {
    log.querySelectorAll(".pc-line--own[data-event-id]").forEach(applyTick);
  }

  /**
   * Handles one transcript event: strict de-duplication by event id, then the view.
   * `replay` is true when rebuilding from the cache after a reload.
   */
  function processEvent(ev, replay) {
    if (!ev || typeof ev.eventId !== "number") return;
    if (seen.has(ev.eventId)) return;
    seen.add(ev.eventId);
    if (ev.eventId > st.lastEventId) st.lastEventId = ev.eventId;
    var transient = ev.kind === "notice" && (ev.noticeType === "TYPING_STARTED" || ev.noticeType === "TYPING_STOPPED");
    if (!transient && !replay) {
      st.events.push(ev);
    }
    // `nickname` is the party's name when the event was delivered; a nickname change
    // is handled with its notice (which needs the old name).
    if (ev.nickname && ev.kind !== "notice") nicknames.set(ev.userId, ev.nickname);
    if (isBotEvent(ev)) bots.add(ev.userId);
    var mine = ev.userId === st.userId;
    var fromOther = !mine && ev.partyType !== "SYSTEM";

    // Reason 8: the session was restored after a server restart and everyone was marked
    // as gone; a party that comes back is shown joining again. Not the end of the chat.
    var restoration = ev.kind === "partyLeft" && ev.reason && ev.reason.code === 8;
    switch (ev.kind) {
      case "newParty":
        if (lines.has(ev.eventId)) break;
        if (mine) {
          addLine(ev, systemLine(t(ownJoinSeen ? "rejoined" : "chatStarted")));
          ownJoinSeen = true;
        } else {
          addLine(ev, systemLine(t("joined", { name: displayName(ev.userId, ev.nickname) })));
        }
        break;
      case "partyLeft":
        stopTyping(ev.userId);
        if (!lines.has(ev.eventId)) {
          var leftText = mine
            ? t(restoration ? "restored" : "youLeft")
            : t("left", { name: displayName(ev.userId, ev.nickname) });
          addLine(ev, systemLine(leftText));
        }
        if (mine && !restoration && !replay) endChat("ended");
        break;
      case "message":
        stopTyping(ev.userId);
        if (mine) {
          resolveOwn(ev.clientMessageId, ev.eventId, ev);
        } else if (!lines.has(ev.eventId)) {
          addLine(ev, partyLine(ev, textBody(ev.text)));
          if (fromOther) noteIncoming(replay);
        }
        break;
      case "notice":
        processNotice(ev, mine, fromOther, replay);
        break;
      default:
        break;
    }
  }

  function processNotice(ev, mine, fromOther, replay) {
    var type = ev.noticeType;
    var ud = ev.userData || {};
    if (type === "TYPING_STARTED") {
      if (fromOther && !replay) startTyping(ev.userId, displayName(ev.userId, ev.nickname));
    } else if (type === "TYPING_STOPPED") {
      stopTyping(ev.userId);
    } else if (type === "USER_UPDATE_NICK") {
      var old = mine ? null : nicknames.get(ev.userId) || ev.nickname;
      var nick = ev.text || ev.nickname;
      nicknames.set(ev.userId, nick);
      if (mine) {
        st.nickname = nick;
        resolveOwn(ev.clientMessageId, ev.eventId, null);
      }
      if (!lines.has(ev.eventId)) {
        addLine(ev, systemLine(mine ? t("youAreNow", { new: nick }) : t("nickChanged", { old: old, new: nick })));
      }
    } else if (type === "USER_PUSHED_URL") {
      if (lines.has(ev.eventId)) return;
      var href = safeHttpUrl(ev.text);
      var body = el("p", { class: "pc-text" }, [t("pushedUrl", { name: displayName(ev.userId, ev.nickname) }) + " "]);
      if (href) {
        body.appendChild(el("a", { class: "pc-url", href: href, target: "_blank", rel: "noopener noreferrer", text: ev.text.trim() }));
      } else {
        body.appendChild(el("span", { class: "pc-url-text", text: ev.text || "" }));
      }
      addLine(ev, partyLine(ev, body));
      if (fromOther) noteIncoming(replay);
    } else if (type === "SYS_COMMAND") {
      if (ev.text === "read-confirm") {
        if (fromOther) {
          var upTo = parseInt(ud["last-event-id"], 10);
          if (upTo > st.readUpTo) {
            st.readUpTo = upTo;
            applyTicks();
          }
        }
      } else if (ev.text === "file-uploaded") {
        if (lines.has(ev.eventId)) return;
        addLine(ev, fileLine(ev, ud));
        if (fromOther) noteIncoming(replay);
      } else if (ev.text === "file-deleted") {
        var f = files.get(String(ud["file-id"]));
        if (f && f.button) {
          f.button.disabled = true;
          f.button.classList.add("pc-deleted");
        }
        if (!lines.has(ev.eventId)) addLine(ev, systemLine(t("fileDeleted")));
      }
    } else if (type === "IDLE_CONTROL_ALERT") {
      if (!lines.has(ev.eventId)) addLine(ev, systemLine(ev.text || t("idle")));
    }
  }

  function fileLine(ev, ud) {
    var fileId = String(ud["file-id"] || "");
    var name = ud["file-name"] || "file";
    var size = Number(ud["file-size"]) || 0;
    var button = el("button", {
      type: "button",
      class: "pc-download",
      "data-file-id": fileId,
      text: t("download", { file: name, size: formatSize(size) }),
    });
    button.addEventListener("click", function () {
      downloadFile(fileId, name, button);
    });
    files.set(fileId, { name: name, size: size, button: button });
    var who = ev.userId === st.userId ? t("you") : displayName(ev.userId, ev.nickname);
    var body = el("div", { class: "pc-text pc-file-body" }, [el("p", { text: t("fileShared", { name: who }) }), button]);
    return partyLine(ev, body);
  }

  function noteIncoming(replay) {
    if (replay) return;
    if (!isOpen() || document.visibilityState !== "visible") {
      unread += 1;
      updateLauncher();
    }
    maybeSendReadConfirm();
  }

  // Typing indicator (others).
  function startTyping(userId, name) {
    var cur = typers.get(userId);
    if (cur) clearTimeout(cur.timer);
    typers.set(userId, {
      name: name,
      timer: setTimeout(function () {
        stopTyping(userId);
      }, 30000),
    });
    renderTyping();
  }

  function stopTyping(userId) {
    var cur = typers.get(userId);
    if (!cur) return;
    clearTimeout(cur.timer);
    typers.delete(userId);
    renderTyping();
  }

  function renderTyping() {
    var names = [];
    typers.forEach(function (v) {
      names.push(v.name);
    });
    if (names.length === 0) typingEl.textContent = "";
    else if (names.length === 1) typingEl.textContent = t("typingOne", { name: names[0] });
    else {
      var last = names.pop();
      typingEl.textContent = t("typingMany", { names: names.join(", ") + " " + t("and") + " " + last });
    }
    typingEl.classList.toggle("pc-active", typers.size > 0);
  }

  // Own lines: shown at once, matched to their event by clientMessageId or event id.
  function pendingLine(item) {
    var li = el("li", { class: "pc-line pc-line--own pc-pending-line", "data-cmid": item.cmid }, [
      el("div", { class: "pc-meta" }, [el("span", { class: "pc-who", text: t("you") })]),
      textBody(item.text),
    ]);
    addOwnMarkers(li);
    li.querySelector(".pc-pending").hidden = false;
    log.appendChild(li);
    scrollToEnd(true);
    return li;
  }

  function findPending(cmid) {
    if (!cmid) return null;
    var all = log.querySelectorAll(".pc-pending-line");
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-cmid") === cmid) return all[i];
    }
    return null;
  }

  /** An own send is stored as event `eventId`: one line for it, whatever arrives first. */
  function resolveOwn(cmid, eventId, ev) {
    if (cmid) removeFromOutbox(cmid);
    var pending = findPending(cmid);
    if (!ev) {
      // A nickname change (no line of its own) or an ack.
      if (pending && !pending.hasAttribute("data-event-id") && !lines.has(eventId)) {
        promotePending(pending, eventId);
      } else if (pending && lines.has(eventId) && lines.get(eventId) !== pending) {
        pending.remove();
      }
      return;
    }
    if (lines.has(eventId)) {
      if (pending && lines.get(eventId) !== pending) pending.remove();
      syncText(lines.get(eventId), ev);
      return;
    }
    if (pending) {
      promotePending(pending, eventId);
      syncText(pending, ev);
      if (ev.utcTime) {
        pending.querySelector(".pc-meta").appendChild(
          el("time", { class: "pc-time", datetime: new Date(ev.utcTime).toISOString(), text: formatTime(ev.utcTime) })
        );
      }
    } else {
      addLine(ev, partyLine(ev, textBody(ev.text)));
    }
  }

  /** An own line shows the text as the server keeps it: with masking on, a card number
   *  the customer typed is shown masked once the server's copy arrives. */
  function syncText(li, ev) {
    var body = li && li.querySelector(".pc-text");
    if (body && ev.kind === "message" && typeof ev.text === "string" && body.textContent !== ev.text) {
      body.textContent = ev.text;
    }
  }

  function promotePending(li, eventId) {
    li.classList.remove("pc-pending-line");
    li.querySelector(".pc-pending").hidden = true;
    li.remove();
    li.setAttribute("data-event-id", String(eventId));
    lines.set(eventId, li);
    placeLine(li, eventId);
    applyTick(li);
  }

  function markFailed(cmid) {
    removeFromOutbox(cmid);
    var li = findPending(cmid);
    if (!li) return;
    li.classList.remove("pc-pending-line");
    li.classList.add("pc-failed-line");
    li.querySelector(".pc-pending").hidden = true;
    li.querySelector(".pc-failed").hidden = false;
  }

  // ---------------------------------------------------------------------------------
  // Outbox: messages and nickname changes are never lost; retried with the same id.

  function removeFromOutbox(cmid) {
    var before = st.outbox.length;
    st.outbox = st.outbox.filter(function (i) {
      return i.cmid !== cmid;
    });
    if (st.outbox.length !== before) persist();
  }

  function queue(item) {
    item.cmid = item.cmid || "w" + randomHex(12);
    st.outbox.push(item);
    persist();
    if (item.kind === "message") pendingLine(item);
    flushOutbox();
    return item;
  }

  // ---------------------------------------------------------------------------------
  // Transport: the basic protocol over a WebSocket

  var transport = null; // the active transport object
  var ready = false; // joined / resumed on the current connection
  var epoch = 0; // bumps with every new connection: in-flight sends of older ones are void
  var inflight = new Map(); // cmid -> epoch it was sent on

  function wsUrl() {
    return config.serverUrl.replace(/^http/i, "ws") + "/basic";
  }

  function Basic() {
    this.ws = null;
    this.reqSeq = 0;
    this.pending = new Map();
    this.retry = 0;
    this.timer = null;
    this.holdUntil = 0;
    this.closed = false;
    this.everOpened = false;
  }

  Basic.prototype.connect = function (mode) {
    var self = this;
    if (self.closed) return;
    clearTimeout(self.timer);
    var ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      self.failed(mode, false);
      return;
    }
    self.ws = ws;
    epoch += 1;
    ready = false;
    var opened = false;
    var openTimer = setTimeout(function () {
      if (!opened) ws.close();
    }, 8000);
    ws.onopen = function () {
      opened = true;
      self.everOpened = true;
      clearTimeout(openTimer);
      var reg = { type: "register", nickname: st.nickname || "Guest", partyType: "CLIENT", clientVersion: 106 };
      if (st.userId && st.secureKey) reg.resume = { userId: st.userId, secureKey: st.secureKey };
      self.request(reg, { kind: "register", mode: mode });
    };
    ws.onmessage = function (m) {
      if (ws !== self.ws) return;
      var frame;
      try {
        frame = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      self.onFrame(frame, mode);
    };
    ws.onclose = function () {
      clearTimeout(openTimer);
      if (ws !== self.ws) return;
      self.ws = null;
      ready = false;
      self.pending.clear();
      self.failed(mode, opened);
    };
    ws.onerror = function () {
      /* onclose follows */
    };
  };

  Basic.prototype.failed = function (mode, opened) {
    var self = this;
    if (self.closed) return;
    if (!opened && !self.everOpened && mode === "create" && config.transport === "auto") {
      // The WebSocket cannot connect at all (a proxy or firewall): use flex instead.
      switchToFlex();
      return;
    }
    if (!st.sessionId && mode === "create") {
      showPrechatFailure(t("unavailable"));
      return;
    }
    setStatus("reconnecting");
    var delay = Math.min(10000, 500 * Math.pow(2, self.retry)) + Math.floor(Math.random() * 250);
    delay = Math.max(delay, self.holdUntil - Date.now());
    self.retry += 1;
    self.timer = setTimeout(function () {
      self.connect(st.sessionId ? "resume" : mode);
    }, delay);
  };

  Basic.prototype.request = function (frame, meta) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.reqSeq += 1;
    frame.requestId = this.reqSeq;
    this.pending.set(this.reqSeq, meta || {});
    try {
      this.ws.send(JSON.stringify(frame));
    } catch (e) {
      return false;
    }
    return true;
  };

  Basic.prototype.onFrame = function (f, mode) {
    var meta = f.requestId !== undefined ? this.pending.get(f.requestId) : null;
    if (meta) this.pending.delete(f.requestId);
    switch (f.type) {
      case "registered":
        st.userId = f.userId;
        st.secureKey = f.secureKey;
        st.transport = "basic";
        persist();
        if (st.sessionId) {
          this.request({ type: "resume", sessionId: st.sessionId, lastEventId: st.lastEventId }, { kind: "resume" });
        } else {
          var create = { type: "createSession", userData: sessionUserData() };
          if (st.subject) create.subject = st.subject;
          if (config.endpoint) create.endpoint = config.endpoint;
          this.request(create, { kind: "create" });
        }
        break;
      case "sessionInfo":
        if (st.sessionId && f.sessionId !== st.sessionId) return;
        st.sessionId = f.sessionId;
        this.retry = 0;
        (f.parties || []).forEach(function (p) {
          if (p.userId !== st.userId) nicknames.set(p.userId, p.nickname);
          if (p.bot) bots.add(p.userId);
        });
        (f.events || []).forEach(function (e) {
          processEvent(e, false);
        });
        persist();
        onReady();
        break;
      case "event":
        if (f.sessionId !== st.sessionId) return;
        processEvent(f.event, false);
        persist();
        break;
      case "ack":
        if (meta && meta.cmid) {
          inflight.delete(meta.cmid);
          resolveOwn(meta.cmid, f.eventId, null);
          persist();
        } else if (meta && meta.kind === "read") {
          readInflight = false;
          if (meta.upTo > st.readSent) st.readSent = meta.upTo;
          persist();
        }
        break;
      case "sessionOver":
        if (f.sessionId === st.sessionId) endChat("ended");
        break;
      case "error":
        this.onError(f, meta);
        break;
      default:
        break; // released, transcriptSaved, future frames
    }
  };

  Basic.prototype.onError = function (f, meta) {
    var code = f.code;
    if (!meta) return; // a connection-level error: the close that follows reconnects
    if (meta.kind === "register" || meta.kind === "resume") {
      if (code === 5001 || code === 5000 || code === 2006) {
        this.ws && this.ws.close(); // transient: try again
      } else {
        endChat(st.events.length ? "ended" : "sessionLost");
      }
    } else if (meta.kind === "create") {
      showPrechatFailure(code === IDENTITY_NOT_VERIFIED ? t("identityRequired") : f.message || t("unavailable"));
      this.close();
      transport = null;
    } else if (meta.cmid) {
      onSendError(meta.cmid, code);
    } else if (meta.kind === "read") {
      readInflight = false;
    }
  };

  Basic.prototype.send = function (item) {
    var frame =
      item.kind === "message"
        ? { type: "message", sessionId: st.sessionId, text: item.text, clientMessageId: item.cmid }
        : {
            type: "notify",
            sessionId: st.sessionId,
            noticeType: item.noticeType,
            text: item.text,
            clientMessageId: item.cmid,
          };
    return this.request(frame, { cmid: item.cmid });
  };

  Basic.prototype.notify = function (noticeType, text, userData, meta) {
    var frame = { type: "notify", sessionId: st.sessionId, noticeType: noticeType };
    if (text !== undefined && text !== null) frame.text = text;
    if (userData) frame.userData = userData;
    return this.request(frame, meta || { kind: "notice" });
  };

  Basic.prototype.leave = function () {
    this.request({ type: "release", sessionId: st.sessionId, afterAction: "KeepAlive" }, { kind: "release" });
  };

  Basic.prototype.drop = function (holdMs) {
    this.holdUntil = Date.now() + (holdMs || 0);
    this.retry = 0;
    if (this.ws) this.ws.close();
  };

  Basic.prototype.wake = function () {
    if (!this.ws && !this.closed && Date.now() >= this.holdUntil) {
      clearTimeout(this.timer);
      this.connect(st.sessionId ? "resume" : "create");
    }
  };

  Basic.prototype.close = function () {
    this.closed = true;
    clearTimeout(this.timer);
    var ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
  };

  // ---------------------------------------------------------------------------------
  // Transport: the flex protocol (HTTP long-poll), when WebSockets are blocked

  function flexPost(path, body, signal) {
    return fetch(config.serverUrl + "/flex/v1/" + path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      signal: signal,
    }).then(function (res) {
      return res
        .json()
        .catch(function () {
          return { status: "error", error: { code: 0, name: "HTTP", message: "HTTP " + res.status } };
        })
        .then(function (reply) {
          reply.httpStatus = res.status;
          return reply;
        });
    });
  }

  var GONE = [2001, 2002, 8201, 8209, 8210];

  function Flex() {
    this.closed = false;
    this.retry = 0;
    this.timer = null;
    this.abort = null;
    this.polling = false;
    this.holdUntil = 0;
  }

  Flex.prototype.ids = function () {
    return { userId: st.userId, secureKey: st.secureKey, sessionId: st.sessionId };
  };

  Flex.prototype.connect = function (mode) {
    var self = this;
    if (self.closed) return;
    epoch += 1;
    ready = false;
    var start;
    if (mode === "create" || !st.userId) {
      var login = { nickname: st.nickname || "Guest", clientVersion: 106 };
      if (st.email) login.emailAddress = st.email;
      start = flexPost("login", login).then(function (r) {
        if (r.status !== "ok") throw r;
        st.userId = r.userId;
        st.secureKey = r.secureKey;
        st.transport = "flex";
        persist();
        var join = { userId: st.userId, secureKey: st.secureKey, userData: sessionUserData() };
        if (st.subject) join.subject = st.subject;
        if (config.endpoint) join.endpoint = config.endpoint;
        return flexPost("join", join);
      });
    } else {
      start = flexPost("join", {
        userId: st.userId,
        secureKey: st.secureKey,
        sessionId: st.sessionId,
        transcriptPosition: st.flexPosition || st.lastEventId + 1,
      });
    }
    start
      .then(function (r) {
        if (self.closed) return;
        if (r.status !== "ok") throw r;
        st.sessionId = r.sessionId || st.sessionId;
        (r.parties || []).forEach(function (p) {
          if (p.userId !== st.userId) nicknames.set(p.userId, p.nickname);
          if (p.bot) bots.add(p.userId);
        });
        self.take(r);
        self.retry = 0;
        onReady();
        self.poll();
      })
      .catch(function (err) {
        self.onFailure(err, mode);
      });
  };

  Flex.prototype.onFailure = function (err, mode) {
    var self = this;
    if (self.closed) return;
    var code = err && err.error && err.error.code;
    if (code && GONE.indexOf(code) >= 0) {
      endChat(st.events.length ? "ended" : "sessionLost");
      return;
    }
    if (!st.sessionId && mode === "create" && err && err.status === "error") {
      showPrechatFailure(code === IDENTITY_NOT_VERIFIED ? t("identityRequired") : (err.error && err.error.message) || t("unavailable"));
      self.close();
      transport = null;
      return;
    }
    ready = false;
    setStatus("reconnecting");
    var delay = Math.min(10000, 500 * Math.pow(2, self.retry)) + Math.floor(Math.random() * 250);
    delay = Math.max(delay, self.holdUntil - Date.now());
    self.retry += 1;
    self.timer = setTimeout(function () {
      if (st.sessionId && st.userId) {
        if (ready) self.poll();
        else self.connect("resume");
      } else {
        self.connect(mode);
      }
    }, delay);
  };

  Flex.prototype.take = function (r) {
    (r.events || []).forEach(function (e) {
      processEvent(e, false);
    });
    if (typeof r.nextPosition === "number") st.flexPosition = r.nextPosition;
    persist();
    if (r.chatEnded) endChat("ended");
  };

  Flex.prototype.poll = function () {
    var self = this;
    if (self.closed || self.polling) return;
    self.polling = true;
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    self.abort = ctl;
    var guard = setTimeout(function () {
      if (ctl) ctl.abort();
    }, 40000);
    var body = Object.assign(self.ids(), { transcriptPosition: st.flexPosition || st.lastEventId + 1, waitMs: 25000 });
    flexPost("refresh", body, ctl && ctl.signal)
      .then(function (r) {
        clearTimeout(guard);
        self.polling = false;
        if (self.closed) return;
        if (r.status !== "ok") throw r;
        if (!ready) {
          ready = true;
          onReady();
        }
        setStatus("connected");
        self.retry = 0;
        self.take(r);
        if (!self.closed && Date.now() >= self.holdUntil) self.poll();
        else if (!self.closed) self.onFailure(null, "resume");
      })
      .catch(function (err) {
        clearTimeout(guard);
        self.polling = false;
        self.onFailure(err, "resume");
      });
  };

  Flex.prototype.send = function (item) {
    var self = this;
    var body = self.ids();
    var path;
    if (item.kind === "message") {
      path = "send";
      body.text = item.text;
    } else {
      path = "notify";
      body.noticeType = item.noticeType;
      body.text = item.text;
    }
    body.clientMessageId = item.cmid;
    var myEpoch = epoch;
    flexPost(path, body)
      .then(function (r) {
        if (myEpoch !== epoch) return;
        inflight.delete(item.cmid);
        if (r.status === "ok") {
          resolveOwn(item.cmid, r.eventId, null);
          persist();
        } else {
          onSendError(item.cmid, r.error && r.error.code);
        }
      })
      .catch(function () {
        inflight.delete(item.cmid);
        setTimeout(flushOutbox, 2000);
      });
    return true;
  };

  Flex.prototype.notify = function (noticeType, text, userData, meta) {
    var body = this.ids();
    body.noticeType = noticeType;
    if (text !== undefined && text !== null) body.text = text;
    if (userData) body.userData = userData;
    flexPost("notify", body)
      .then(function (r) {
        if (meta && meta.kind === "read") {
          readInflight = false;
          if (r.status === "ok" && meta.upTo > st.readSent) {
            st.readSent = meta.upTo;
            persist();
          }
        }
      })
      .catch(function () {
        if (meta && meta.kind === "read") readInflight = false;
      });
    return true;
  };

  Flex.prototype.leave = function () {
    flexPost("logout", this.ids()).catch(function () {
      /* the session times us out anyway */
    });
  };

  Flex.prototype.drop = function (holdMs) {
    this.holdUntil = Date.now() + (holdMs || 0);
    if (this.abort) this.abort.abort();
  };

  Flex.prototype.wake = function () {
    if (!this.polling && !this.closed && ready) this.poll();
  };

  Flex.prototype.close = function () {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.abort) this.abort.abort();
  };

  function switchToFlex() {
    if (transport) transport.close();
    transport = new Flex();
    transport.connect("create");
  }

  // ---------------------------------------------------------------------------------
  // Chat lifecycle

  function sessionUserData() {
    var ud = Object.assign({}, config.userData);
    if (st.email) ud.EmailAddress = st.email;
    return Object.assign(ud, config.identity);
  }

  function onReady() {
    if (st.ended) return;
    ready = true;
    readInflight = false; // a confirmation lost with the old connection is sent again
    setStatus("connected");
    setPhase("chatting");
    persist();
    flushOutbox();
    maybeSendReadConfirm();
    refreshLimits();
  }

  function flushOutbox() {
    if (!transport || !ready || st.ended) return;
    st.outbox.forEach(function (item) {
      if (inflight.get(item.cmid) === epoch) return;
      if (transport.send(item)) inflight.set(item.cmid, epoch);
    });
  }

  function onSendError(cmid, code) {
    inflight.delete(cmid);
    if (code === 5001 || code === 5000) {
      setTimeout(flushOutbox, 2000); // not stored: retry with the same id
    } else if (GONE.indexOf(code) >= 0) {
      endChat("ended");
    } else {
      markFailed(cmid);
    }
  }

  /** The server refused a chat for want of a verified identity (docs/security.md). */
  var IDENTITY_NOT_VERIFIED = 1015;

  function showPrechatFailure(text) {
    setPhase("idle");
    setStatus(null);
    startButton.disabled = false;
    prechatError.textContent = text;
  }

  function startChat(mode) {
    if (transport) transport.close();
    transport = config.transport === "flex" || (mode !== "create" && st.transport === "flex") ? new Flex() : new Basic();
    setStatus("connecting");
    transport.connect(mode);
  }

  function endChat(key) {
    if (st.ended && root.getAttribute("data-state") === "ended") return;
    st.ended = true;
    st.endedKey = key;
    st.outbox.forEach(function (i) {
      markFailedLine(i.cmid);
    });
    st.outbox = [];
    persist();
    ready = false;
    if (transport) {
      var tr = transport;
      transport = null;
      setTimeout(function () {
        tr.close();
      }, 0);
    }
    clearTimeout(typingTimer);
    clearTimeout(typingIdle);
    endedText.textContent = t(key || "ended");
    var hadFocus = panel.contains(document.activeElement);
    setPhase("ended");
    if (hadFocus) newChatButton.focus();
  }

  function markFailedLine(cmid) {
    var li = findPending(cmid);
    if (!li) return;
    li.classList.remove("pc-pending-line");
    li.classList.add("pc-failed-line");
    li.querySelector(".pc-pending").hidden = true;
    li.querySelector(".pc-failed").hidden = false;
  }

  function resetForNewChat() {
    var keep = { nickname: st.nickname, email: st.email };
    if (transport) transport.close();
    transport = null;
    st = freshState();
    st.nickname = keep.nickname;
    st.email = keep.email;
    st.open = true;
    persist();
    seen.clear();
    lines.clear();
    ownJoinSeen = false;
    nicknames.clear();
    bots.clear();
    files.clear();
    limits = null;
    while (log.firstChild) log.removeChild(log.firstChild);
    showNotice("");
    fileHint.textContent = "";
    fileBox.hidden = true;
    nameInput.value = keep.nickname || "";
    emailInput.value = keep.email || "";
    subjectInput.value = "";
    prechatError.textContent = "";
    startButton.disabled = false;
    setPhase("idle");
    nameInput.focus();
  }

  // Read confirmations: what the customer has seen of the others' lines.
  var readInflight = false;
  var readTimer = null;
  function maybeSendReadConfirm() {
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      if (!transport || !ready || st.ended || readInflight) return;
      if (!isOpen() || document.visibilityState !== "visible") return;
      var upTo = 0;
      lines.forEach(function (li, id) {
        if (!li.classList.contains("pc-line--own") && !li.classList.contains("pc-line--system") && id > upTo) upTo = id;
      });
      if (upTo <= st.readSent) return;
      readInflight = true;
      var ok = transport.notify("SYS_COMMAND", "read-confirm", { "last-event-id": String(upTo) }, { kind: "read", upTo: upTo });
      if (!ok) readInflight = false;
    }, 300);
  }

  // Typing notices (own), with the preview text; debounced.
  var typingSent = false;
  var typingTimer = null;
  var typingIdle = null;
  var lastTypingAt = 0;
  var TYPING_EVERY = 1500;
  var TYPING_IDLE = 5000;

  function sendTyping(started) {
    if (!transport || !ready || st.ended) return;
    if (started) {
      transport.notify("TYPING_STARTED", textarea.value.slice(0, 500), null);
      lastTypingAt = Date.now();
      typingSent = true;
    } else if (typingSent) {
      transport.notify("TYPING_STOPPED", null, null);
      typingSent = false;
    }
  }

  function onComposerInput() {
    clearTimeout(typingIdle);
    if (!textarea.value.trim()) {
      clearTimeout(typingTimer);
      typingTimer = null;
      sendTyping(false);
      return;
    }
    if (!typingTimer) {
      var wait = Math.max(0, lastTypingAt + TYPING_EVERY - Date.now());
      typingTimer = setTimeout(function () {
        typingTimer = null;
        if (textarea.value.trim()) sendTyping(true);
      }, Math.min(wait, TYPING_EVERY) || 250);
    }
    typingIdle = setTimeout(function () {
      sendTyping(false);
    }, TYPING_IDLE);
  }

  // ---------------------------------------------------------------------------------
  // Files

  function fileRequest(extra) {
    return Object.assign({ userId: st.userId, secureKey: st.secureKey, sessionId: st.sessionId }, extra || {});
  }

  function refreshLimits() {
    if (!st.sessionId || !st.userId) return Promise.resolve(null);
    return flexPost("file/limits", fileRequest())
      .then(function (r) {
        if (r.status !== "ok" || !r.limits) {
          if (r.httpStatus === 404) fileBox.hidden = true;
          return null;
        }
        limits = r.limits;
        renderLimits();
        return limits;
      })
      .catch(function () {
        return null;
      });
  }

  function filesLeft() {
    return Math.max(0, limits.uploadMaxFiles - limits.usedUploadMaxFiles);
  }

  function renderLimits() {
    if (!limits) return;
    var left = filesLeft();
    var bytesLeft = Math.max(0, limits.uploadMaxTotalSize - limits.usedUploadMaxTotalSize);
    fileBox.hidden = root.getAttribute("data-state") === "ended";
    if (left === 0 || bytesLeft === 0) {
      fileHint.textContent = t("fileNoMore");
      fileInput.disabled = true;
      fileLabel.classList.add("pc-disabled");
      return;
    }
    fileInput.disabled = root.getAttribute("data-state") !== "chatting";
    fileLabel.classList.remove("pc-disabled");
    var text = t("fileLimits", { size: formatSize(Math.min(limits.uploadMaxFileSize, bytesLeft)), count: left });
    var types = (limits.uploadFileTypes || "").split(":").filter(Boolean);
    if (types.length) {
      fileInput.setAttribute(
        "accept",
        types
          .map(function (x) {
            return "." + x;
          })
          .join(",")
      );
      text += " " + t("fileTypes", { types: types.join(", ") });
    }
    fileHint.textContent = text;
  }

  function checkFile(file) {
    if (!limits) return null;
    var name = file.name;
    var types = (limits.uploadFileTypes || "").toLowerCase().split(":").filter(Boolean);
    var ext = name.indexOf(".") >= 0 ? name.split(".").pop().toLowerCase() : "";
    if (types.length && types.indexOf(ext) < 0) return t("fileTypeNotAllowed", { name: name, types: types.join(", ") });
    if (filesLeft() === 0) return t("fileNoMore");
    if (file.size > limits.uploadMaxFileSize) return t("fileTooBig", { name: name, size: formatSize(limits.uploadMaxFileSize) });
    if (limits.usedUploadMaxTotalSize + file.size > limits.uploadMaxTotalSize) {
      return t("fileTotalExceeded", { name: name, size: formatSize(limits.uploadMaxTotalSize) });
    }
    return null;
  }

  function uploadFile(file) {
    var problem = checkFile(file);
    if (problem) {
      showNotice(problem);
      return Promise.resolve(false);
    }
    showNotice(t("uploading", { name: file.name }));
    var form = new FormData();
    // The text fields first: the server reads them before streaming the file.
    form.append("userId", st.userId);
    form.append("secureKey", st.secureKey);
    form.append("sessionId", st.sessionId);
    form.append("file", file, file.name);
    return fetch(config.serverUrl + "/flex/v1/file/upload", { method: "POST", body: form, credentials: "omit", cache: "no-store" })
      .then(function (res) {
        return res.json().catch(function () {
          return { status: "error", error: { message: "HTTP " + res.status } };
        });
      })
      .then(function (r) {
        if (r.status === "ok") {
          showNotice(t("uploaded", { name: file.name }));
          refreshLimits();
          return true;
        }
        showNotice(t("uploadFailed", { name: file.name, reason: (r.error && r.error.message) || "?" }));
        refreshLimits();
        return false;
      })
      .catch(function (e) {
        showNotice(t("uploadFailed", { name: file.name, reason: String(e && e.message) }));
        return false;
      });
  }

  var lastDownload = null;

  /** POST /flex/v1/file/download → a blob → an object URL the browser saves. */
  function fetchFile(fileId) {
    return fetch(config.serverUrl + "/flex/v1/file/download", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(fileRequest({ fileId: String(fileId) })),
      credentials: "omit",
      cache: "no-store",
    }).then(function (res) {
      if (!res.ok) {
        return res
          .json()
          .catch(function () {
            return null;
          })
          .then(function (r) {
            throw new Error((r && r.error && r.error.message) || "HTTP " + res.status);
          });
      }
      return res.blob();
    });
  }

  function downloadFile(fileId, name, button) {
    showNotice(t("downloading", { file: name }));
    if (button) button.disabled = true;
    return fetchFile(fileId)
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = el("a", { href: url, download: name, class: "pc-visually-hidden", tabindex: "-1" });
        root.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () {
          URL.revokeObjectURL(url);
        }, 60000);
        lastDownload = { fileId: String(fileId), name: name, size: blob.size };
        showNotice("");
      })
      .catch(function (e) {
        lastDownload = { fileId: String(fileId), name: name, error: String(e && e.message) };
        showNotice(t("downloadFailed", { file: name, reason: String(e && e.message) }));
      })
      .then(function () {
        if (button && !button.classList.contains("pc-deleted")) button.disabled = false;
      });
  }

  // ---------------------------------------------------------------------------------
  // Wiring

  launcher.addEventListener("click", function () {
    if (isOpen()) closePanel();
    else openPanel();
  });
  closeButton.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      e.preventDefault();
      if (!nickForm.hidden) hideNickForm();
      else if (!endConfirm.hidden) hideEndConfirm();
      else closePanel();
    }
  });

  prechat.addEventListener("submit", function (e) {
    e.preventDefault();
    var name = nameInput.value.trim();
    var email = emailInput.value.trim();
    prechatError.textContent = "";
    nameInput.removeAttribute("aria-invalid");
    emailInput.removeAttribute("aria-invalid");
    if (!name) {
      prechatError.textContent = t("nameRequired");
      nameInput.setAttribute("aria-invalid", "true");
      nameInput.focus();
      return;
    }
    if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      prechatError.textContent = t("emailInvalid");
      emailInput.setAttribute("aria-invalid", "true");
      emailInput.setAttribute("aria-describedby", ids.prechatError);
      emailInput.focus();
      return;
    }
    st.nickname = name.slice(0, 64);
    st.email = email;
    st.subject = subjectInput.value.trim();
    st.ended = false;
    persist();
    startButton.disabled = true;
    setPhase("connecting");
    textarea.focus();
    startChat("create");
  });

  composer.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = textarea.value.trim();
    if (!text || st.ended || !st.sessionId && !transport) return;
    textarea.value = "";
    clearTimeout(typingTimer);
    clearTimeout(typingIdle);
    typingTimer = null;
    typingSent = false;
    queue({ kind: "message", text: text });
    textarea.focus();
  });

  textarea.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (typeof composer.requestSubmit === "function") composer.requestSubmit();
      else composer.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  textarea.addEventListener("input", onComposerInput);

  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    if (!file) return;
    uploadFile(file).then(function () {
      fileInput.value = "";
    });
  });

  function showNickForm() {
    endConfirm.hidden = true;
    nickForm.hidden = false;
    nickInput.value = st.nickname;
    nickInput.focus();
    nickInput.select();
  }
  function hideNickForm() {
    nickForm.hidden = true;
    nickButton.focus();
  }
  nickButton.addEventListener("click", showNickForm);
  nickForm.querySelector(".pc-nick-cancel").addEventListener("click", hideNickForm);
  nickForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var nick = nickInput.value.trim().slice(0, 64);
    nickForm.hidden = true;
    textarea.focus();
    if (!nick || nick === st.nickname) return;
    queue({ kind: "notify", noticeType: "USER_UPDATE_NICK", text: nick });
  });

  function hideEndConfirm() {
    endConfirm.hidden = true;
    endButton.focus();
  }
  endButton.addEventListener("click", function () {
    nickForm.hidden = true;
    endConfirm.hidden = false;
    endConfirm.querySelector(".pc-end-no").focus();
  });
  endConfirm.querySelector(".pc-end-no").addEventListener("click", hideEndConfirm);
  endConfirm.querySelector(".pc-end-yes").addEventListener("click", function () {
    if (transport && ready) transport.leave();
    endChat("ended");
  });

  newChatButton.addEventListener("click", resetForNewChat);

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") maybeSendReadConfirm();
  });
  window.addEventListener("online", function () {
    if (transport) transport.wake();
  });

  // ---------------------------------------------------------------------------------
  // Start: rebuild a chat in progress (reload) or wait for the visitor

  function restore() {
    if (!st.sessionId || !st.userId) {
      var keepOpen = st.open;
      var keep = { nickname: st.nickname, email: st.email };
      st = freshState();
      st.nickname = keep.nickname;
      st.email = keep.email;
      nameInput.value = keep.nickname || "";
      emailInput.value = keep.email || "";
      setPhase("idle");
      if (keepOpen) openPanel(false);
      return;
    }
    log.setAttribute("aria-busy", "true");
    var cached = st.events.slice();
    var outbox = st.outbox.slice();
    cached.forEach(function (e) {
      processEvent(e, true);
    });
    // Cached events may end on a leave of our own: that ended the chat.
    outbox.forEach(function (item) {
      if (item.kind === "message" && !findPending(item.cmid)) pendingLine(item);
    });
    log.removeAttribute("aria-busy");
    if (st.open) openPanel(false);
    if (st.ended) {
      endedText.textContent = t(st.endedKey || "ended");
      setPhase("ended");
      return;
    }
    setPhase("connecting");
    startChat("resume");
  }

  function mount() {
    ensureStylesheet();
    document.body.appendChild(root);
    restore();
    updateLauncher();
  }

  if (config.testHooks) {
    window.__parleyTest = {
      dropConnection: function (holdMs) {
        if (transport) transport.drop(holdMs || 0);
      },
      state: function () {
        return {
          transport: st.transport,
          sessionId: st.sessionId,
          userId: st.userId,
          lastEventId: st.lastEventId,
          ready: ready,
          phase: root.getAttribute("data-state"),
          outbox: st.outbox.length,
          readSent: st.readSent,
          readUpTo: st.readUpTo,
          lang: lang,
        };
      },
      lastDownload: function () {
        return lastDownload;
      },
      fetchFileText: function (fileId) {
        return fetchFile(fileId).then(function (b) {
          return b.text();
        });
      },
      errors: function () {
        return testErrors.slice();
      },
      cspViolations: function () {
        return cspViolations.slice();
      },
    };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
