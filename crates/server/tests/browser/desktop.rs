//! The agent desktop (`web/desktop.html`) and the supervisor view in a real headless
//! Chromium against Parley started in-process with routing, a queue with a greeting, two
//! agents (anna, bob) and a supervisor (sam). The customer uses the widget on the demo
//! page; every person has a browser window of their own (sessionStorage is per window).
//!
//! One whole chat: the customer starts it and gets the greeting; anna (ready) is offered
//! it with a sound and a countdown and accepts; messages both ways; the customer's typing
//! preview on the desktop; the customer pane with the chat's user data next to the
//! stored contact ("Speve" vs "Steve") and the contact's history; anna's desktop reloads
//! and its connections drop (every line exactly once); sam coaches with a line the
//! customer never sees; anna transfers to bob; bob accepts, chats, releases and marks
//! done. Screenshots: test-output/desktop-{offer,chat,supervisor,transfer}.png.

use std::net::SocketAddr;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use fantoccini::wd::WindowHandle;
use futures::{SinkExt, StreamExt};
use parley_server::config::Config;
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{
    assert_strict_csp, find_chromium, test_config, Browser, Page, TestServer, WAIT,
};

pub(crate) const GREETING: &str = "Welcome to Acme support! An agent will be with you shortly.";
const COACH_LINE: &str = "Coach: offer her the free repair kit";
const PASSWORDS: [(&str, &str); 3] = [
    ("anna", "anna-secret-1"),
    ("bob", "bob-secret-22"),
    ("sam", "sam-secret-333"),
];

/// The longest the whole scenario may take.
const SCENARIO_LIMIT: Duration = Duration::from_secs(360);

// -------------------------------------------------------------------------------------
// Parley with routing, in-process

/// An argon2id PHC string (light parameters: the test hashes and verifies in debug builds).
fn hash(password: &str) -> String {
    let params = Params::new(8 * 1024, 1, 1, None).expect("argon2 params");
    let salt = SaltString::encode_b64(format!("salt-for-{password}").as_bytes()).expect("salt");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

pub(crate) fn center_config(dir: &std::path::Path) -> Config {
    let toml = format!(
        r#"
# The earlier chat (nobody answered) is stopped when it ends, not left in the queue.
[settings]
stop-abandoned-interaction = "noanswer"

[routing]
agent-disconnect-timeout = 60

[queues.default]
greeting = "{GREETING}"
offer-timeout = 90

[agents.anna]
password-hash = "{anna}"
nickname = "Anna"
queues = ["default"]
capacity = 3

[agents.bob]
password-hash = "{bob}"
nickname = "Bob"
queues = ["default"]
capacity = 3

[agents.sam]
password-hash = "{sam}"
nickname = "Sam"
role = "supervisor"
queues = ["default"]
capacity = 2
"#,
        anna = hash(PASSWORDS[0].1),
        bob = hash(PASSWORDS[1].1),
        sam = hash(PASSWORDS[2].1),
    );
    let mut config = Config::from_toml_str(&toml).expect("the test config parses");
    let base = test_config(dir);
    config.server = base.server;
    config.security = base.security;
    config.settings.shutdown_timeout_s = base.settings.shutdown_timeout_s;
    config
}

/// An earlier chat of the same customer, over the basic protocol as a CLIENT, so that the
/// contact record ("Steve") and the contact history exist before the widget's chat.
async fn earlier_chat(addr: SocketAddr) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/basic"))
        .await
        .expect("websocket connect");
    let frames = [
        json!({"type": "register", "requestId": 1, "nickname": "Steve", "partyType": "CLIENT",
               "clientVersion": 106}),
        json!({"type": "createSession", "requestId": 2, "subject": "Refund",
               "userData": {"FirstName": "Steve", "LastName": "Jobs",
                            "EmailAddress": "pat@example.com"}}),
    ];
    let mut session = String::new();
    for (i, frame) in frames.iter().enumerate() {
        ws.send(Message::Text(frame.to_string().into()))
            .await
            .expect("send");
        let reply = reply_to(&mut ws, i as u64 + 1).await;
        if let Some(s) = reply["sessionId"].as_str() {
            session = s.to_owned();
        }
    }
    assert!(!session.is_empty(), "the earlier chat was created");
    for (id, frame) in [
        (
            3,
            json!({"type": "message", "sessionId": session, "text": "Where is my refund?"}),
        ),
        (
            4,
            json!({"type": "release", "sessionId": session, "afterAction": "ForceClose"}),
        ),
    ] {
        let mut frame = frame;
        frame["requestId"] = json!(id);
        ws.send(Message::Text(frame.to_string().into()))
            .await
            .expect("send");
        reply_to(&mut ws, id).await;
    }
    let _ = ws.close(None).await;
}

async fn reply_to<S>(ws: &mut S, id: u64) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = Instant::now() + WAIT;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no reply to request {id}"))
            .expect("connection open")
            .expect("frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).expect("json");
            if v["requestId"] == json!(id) {
                assert_ne!(v["type"], json!("error"), "request {id} failed: {v}");
                return v;
            }
        }
    }
}

// -------------------------------------------------------------------------------------
// Browser windows

/// One person's browser window (its own sessionStorage). Every call switches to it first.
pub(crate) struct Win {
    pub(crate) page: Page,
    pub(crate) handle: WindowHandle,
    pub(crate) who: &'static str,
}

impl Win {
    pub(crate) async fn focus(&self) {
        self.page
            .c
            .switch_to_window(self.handle.clone())
            .await
            .expect("switch window");
    }

    pub(crate) async fn js(&self, body: &str, args: Vec<Value>) -> Value {
        self.focus().await;
        self.page.js(body, args).await
    }

    pub(crate) async fn click(&self, css: &str) {
        self.focus().await;
        self.page.click(css).await;
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        self.focus().await;
        self.page.type_into(css, text).await;
    }

    async fn screenshot(&self, name: &str) {
        self.focus().await;
        self.page.save_screenshot(name).await;
    }

    /// Polls `body` until it returns something truthy; on timeout, fails with the desktop's
    /// (or the widget's) state.
    pub(crate) async fn until(&self, what: &str, body: &str, args: Vec<Value>) -> Value {
        self.focus().await;
        let label = format!("{}'s page", self.who);
        self.page
            .until_or_dump(what, body, args, &label, DUMP)
            .await
    }
}

/// A summary of the desktop (or the widget) for failure messages.
const DUMP: &str = "
const d = window.__parleyDesktopTest, w = window.__parleyTest;
const text = s => (document.querySelector(s) || {}).textContent;
return {
  desktop: d && d.state(), errors: d ? d.errors() : w && w.errors(),
  csp: d ? d.cspViolations() : w && w.cspViolations(),
  toast: text('#toast'), status: text('#status-text'), loginError: text('#login-error'),
  offers: Array.from(document.querySelectorAll('#offers > li')).map(li => li.textContent),
  panels: Array.from(document.querySelectorAll('.chat-panel')).map(p => ({
    id: p.dataset.interactionId, hold: p.dataset.hold, visibility: p.dataset.visibility,
    hidden: p.hidden, notice: p.querySelector('.chat-notice').textContent,
    typing: p.querySelector('.typing-preview').textContent,
    pane: [p.querySelector('.customer-pane').dataset.loaded, p.querySelector('.customer-pane').textContent],
    lines: Array.from(p.querySelectorAll('.transcript > li')).map(li =>
      (li.dataset.eventId || '-') + ' ' + li.className + ' | ' + li.textContent)})),
  widget: w && w.state(),
  widgetLines: Array.from(document.querySelectorAll('.pc-log > li')).map(li =>
    (li.dataset.eventId || '-') + ' ' + li.className + ' | ' + li.textContent)
};";

/// Opens the desktop, logs in and waits for both connections.
pub(crate) async fn log_in(w: &Win, base: &str, login: &str) {
    let password = PASSWORDS
        .iter()
        .find(|(l, _)| *l == login)
        .expect("a test login")
        .1;
    w.focus().await;
    w.page
        .c
        .goto(&format!("{base}/web/desktop.html?testHooks"))
        .await
        .expect("open the desktop");
    w.until(
        "the login form",
        "return !document.getElementById('login').hidden;",
        vec![],
    )
    .await;
    w.type_into("#login-name", login).await;
    w.type_into("#login-password", password).await;
    w.click("#login-submit").await;
    w.until(
        "the desktop to connect",
        "const d = window.__parleyDesktopTest, s = d && d.state();\
         return s && s.login === arguments[0] && s.desktop === 'connected' && s.basic === 'connected';",
        vec![json!(login)],
    )
    .await;
}

pub(crate) async fn set_ready(w: &Win) {
    w.click("#status-ready").await;
    w.until(
        "the status to be ready",
        "return document.getElementById('status-text').dataset.status === 'ready';",
        vec![],
    )
    .await;
}

/// `css` inside the panel of chat `id`.
pub(crate) fn in_chat(id: &str, css: &str) -> String {
    format!(".chat-panel[data-interaction-id=\"{id}\"] {css}")
}

/// Waits for a transcript line of chat `id` with class `class` whose text contains `text`;
/// returns its event id.
pub(crate) async fn desk_line(w: &Win, id: &str, class: &str, text: &str) -> u64 {
    let v = w
        .until(
            &format!("a {class} line containing {text:?}"),
            "const p = document.querySelector(`.chat-panel[data-interaction-id=\"${arguments[0]}\"]`);\
             const li = p && Array.from(p.querySelectorAll('.transcript > li.' + arguments[1]))\
               .find(li => li.textContent.includes(arguments[2]) && li.dataset.eventId);\
             return li ? Number(li.dataset.eventId) : null;",
            vec![json!(id), json!(class), json!(text)],
        )
        .await;
    v.as_u64().expect("event id")
}

/// Every line of chat `id` on the desktop exactly once, in id order, none pending.
pub(crate) async fn assert_desk_lines_once(w: &Win, id: &str, when: &str) -> Vec<u64> {
    let v = w
        .js(
            "const p = document.querySelector(`.chat-panel[data-interaction-id=\"${arguments[0]}\"]`);\
             return [Array.from(p.querySelectorAll('.transcript > li[data-event-id]'))\
                      .map(li => Number(li.dataset.eventId)),\
                     p.querySelectorAll('.line--pending-send, .line--failed-send').length];",
            vec![json!(id)],
        )
        .await;
    let ids: Vec<u64> = serde_json::from_value(v[0].clone()).expect("ids");
    assert!(
        ids.windows(2).all(|p| p[0] < p[1]),
        "{}, {when}: lines doubled or out of order: {ids:?}",
        w.who
    );
    assert_eq!(v[1], json!(0), "{}, {when}: a send is pending", w.who);
    ids
}

pub(crate) async fn widget_line(w: &Win, text: &str) -> String {
    w.until(
        &format!("the widget line {text:?}"),
        "const li = Array.from(document.querySelectorAll('.pc-log > li'))\
           .find(li => li.textContent.includes(arguments[0]));\
         return li ? li.className : null;",
        vec![json!(text)],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

pub(crate) async fn assert_clean(w: &Win) {
    let v = w
        .js(
            "const d = window.__parleyDesktopTest, x = window.__parleyTest;\
             return d ? [d.errors(), d.cspViolations()] : [x.errors(), x.cspViolations()];",
            vec![],
        )
        .await;
    assert_eq!(
        v,
        json!([[], []]),
        "{}: script errors or CSP violations",
        w.who
    );
}

// -------------------------------------------------------------------------------------
// The scenario

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_and_a_supervisor_handle_a_chat_on_the_desktop() {
    let Some((chromium, driver)) = find_chromium() else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n==================================================================\n\
             \x20 skipped: chromium not installed\n\
             \x20 (apt-get install -y chromium chromium-driver to run the browser tests)\n\
             ==================================================================\n"
        );
        return;
    };
    let server = TestServer::start_with(center_config).await;
    let browser = Browser::start(&chromium, &driver, 1280, 800).await;
    let page = Page {
        c: browser.client.clone(),
        driver_url: browser.driver_url.clone(),
    };
    let addr = server.addr;
    let run = tokio::spawn(tokio::time::timeout(
        SCENARIO_LIMIT,
        desktop_scenario(page, addr),
    ))
    .await;
    browser.quit().await;
    server.stop().await;
    match run {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("the scenario took longer than {SCENARIO_LIMIT:?}"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// The window the browser opened with, as the customer's.
pub(crate) async fn customer_window(page: &Page) -> Win {
    Win {
        handle: page.c.window().await.expect("window"),
        page: page.clone(),
        who: "customer",
    }
}

/// The customer opens the demo page and starts a chat as `name`; its session id.
pub(crate) async fn start_widget_chat(customer: &Win, base: &str, name: &str) -> String {
    customer.focus().await;
    customer
        .page
        .c
        .goto(&format!("{base}/web/demo.html"))
        .await
        .expect("open the demo page");
    crate::start_chat(&customer.page, name).await
}

/// The agent in `w` waits for the offer of chat `session` and accepts it.
pub(crate) async fn accept_offer(w: &Win, session: &str) {
    let offer = format!("#offers > li.offer[data-interaction-id=\"{session}\"]");
    w.until(
        "the offer",
        "return document.querySelector(arguments[0]);",
        vec![json!(offer)],
    )
    .await;
    w.click(&format!("{offer} .offer-accept")).await;
}

pub(crate) async fn new_window(page: &Page, who: &'static str) -> Win {
    let handle = page.c.new_window(false).await.expect("new window").handle;
    Win {
        page: page.clone(),
        handle,
        who,
    }
}

async fn desktop_scenario(page: Page, addr: SocketAddr) {
    let base = format!("http://{addr}");

    // The desktop is Parley's own page, with the strict CSP.
    assert_strict_csp(&format!("{base}/web/desktop.html"), "script-src 'self'").await;

    // The customer chatted before: a contact record "Steve" and a history.
    earlier_chat(addr).await;

    let customer = Win {
        handle: page.c.window().await.expect("window"),
        page: page.clone(),
        who: "customer",
    };
    let anna = new_window(&page, "anna").await;
    let sam = new_window(&page, "sam").await;
    let bob = new_window(&page, "bob").await;

    // A wrong password is refused, without saying which part was wrong.
    anna.focus().await;
    anna.page
        .c
        .goto(&format!("{base}/web/desktop.html?testHooks"))
        .await
        .expect("open the desktop");
    anna.until(
        "the login form",
        "return !document.getElementById('login').hidden && document.activeElement.id === 'login-name';",
        vec![],
    )
    .await;
    anna.type_into("#login-name", "anna").await;
    anna.type_into("#login-password", "wrong").await;
    anna.click("#login-submit").await;
    anna.until(
        "the refusal",
        "return document.getElementById('login-error').textContent === 'Wrong login or password.';",
        vec![],
    )
    .await;

    log_in(&anna, &base, "anna").await;
    set_ready(&anna).await;
    log_in(&sam, &base, "sam").await;
    sam.click("#view-supervisor-button").await;
    sam.until(
        "the first overview",
        "return document.getElementById('view-supervisor').dataset.overview === 'true'\
           && !!document.querySelector('#sup-agents tr[data-login=anna][data-status=ready]');",
        vec![],
    )
    .await;

    // The customer starts a chat on the demo page (the site passes a first name, mistyped).
    customer.focus().await;
    customer
        .page
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": "Object.defineProperty(window, 'ParleyChat', {configurable: true,\
                get() { return this.__pc; },\
                set(v) { if (v && typeof v === 'object') v.userData = Object.assign({}, v.userData, {FirstName: 'Speve'}); this.__pc = v; }});"}),
        )
        .await;
    customer
        .page
        .c
        .goto(&format!("{base}/web/demo.html"))
        .await
        .expect("open the demo page");
    let session = crate::start_chat(&customer.page, "Pat").await;
    let greeting_class = widget_line(&customer, GREETING).await;
    assert!(
        greeting_class.contains("pc-line--system"),
        "the greeting is a system line: {greeting_class}"
    );

    // anna is offered the chat: a sound, a countdown that runs, Accept / Reject.
    let offer = format!("#offers > li.offer[data-interaction-id=\"{session}\"]");
    anna.until(
        "the offer",
        "return document.querySelector(arguments[0]);",
        vec![json!(offer)],
    )
    .await;
    let first = anna
        .js(
            "const o = document.querySelector(arguments[0]);\
             return [o.dataset.kind, o.querySelector('.offer-customer').textContent,\
                     Number(o.querySelector('.offer-countdown').dataset.remainingMs),\
                     o.querySelector('.offer-countdown').textContent,\
                     window.__parleyDesktopTest.beeps()];",
            vec![json!(offer)],
        )
        .await;
    assert_eq!(first[0], json!("queue"), "{first}");
    assert!(first[2].as_u64().unwrap_or(0) > 0, "a countdown: {first}");
    assert!(
        first[3].as_str().unwrap_or_default().ends_with(" s left"),
        "{first}"
    );
    assert!(first[4].as_u64().unwrap_or(0) >= 1, "a beep: {first}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let later = anna
        .js(
            "return Number(document.querySelector(arguments[0] + ' .offer-countdown').dataset.remainingMs);",
            vec![json!(offer)],
        )
        .await;
    assert!(
        later.as_u64().unwrap_or(u64::MAX) < first[2].as_u64().unwrap_or(0),
        "the countdown runs: {first} then {later}"
    );
    anna.screenshot("desktop-offer.png").await;
    anna.click(&format!("{offer} .offer-accept")).await;
    anna.until(
        "the chat tab, joined",
        "const s = window.__parleyDesktopTest.state().chats.chats[arguments[0]];\
         const tab = document.querySelector(`.chat-tab[data-interaction-id=\"${arguments[0]}\"]`);\
         return s && s.subscribed && tab && tab.getAttribute('aria-selected') === 'true'\
           && !document.querySelector(arguments[1]);",
        vec![json!(session), json!(offer)],
    )
    .await;
    widget_line(&customer, "Anna joined").await;
    // The desktop shows what happened before the agent came, greeting included.
    desk_line(&anna, &session, "line--system", GREETING).await;

    // Keyboard and screen reader: every control has a name; the transcript is a polite
    // live log; the tabs are a tablist.
    let unnamed = anna
        .js(
            "return Array.from(document.querySelectorAll('#app button, #app input, #app select, #app textarea'))\
             .filter(e => !e.closest('[hidden]'))\
             .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim()))\
             .map(e => e.outerHTML);",
            vec![],
        )
        .await;
    assert_eq!(unnamed, json!([]), "controls without an accessible name");
    let roles = anna
        .js(
            "const l = document.querySelector(arguments[0]);\
             return [l.getAttribute('role'), l.getAttribute('aria-live'),\
                     document.getElementById('chat-tabs').getAttribute('role')];",
            vec![json!(in_chat(&session, ".transcript"))],
        )
        .await;
    assert_eq!(roles, json!(["log", "polite", "tablist"]));

    // Messages both ways.
    let hello = "Hello, my tent has a hole in it";
    customer
        .type_into(".pc-composer textarea", &format!("{hello}\u{E007}"))
        .await;
    desk_line(&anna, &session, "line--customer", hello).await;
    let reply = "Sorry to hear that! Which tent is it?";
    anna.type_into(
        &in_chat(&session, ".composer-input"),
        &format!("{reply}\u{E007}"),
    )
    .await;
    let class = widget_line(&customer, reply).await;
    assert!(class.contains("pc-line--agent"), "{class}");
    desk_line(&anna, &session, "line--own", reply).await;

    // The customer's typing preview on the desktop.
    customer
        .type_into(".pc-composer textarea", "It is the Ridgeline 2")
        .await;
    anna.until(
        "the customer's typing preview",
        "const t = document.querySelector(arguments[0]).textContent;\
         const p = t.startsWith('Customer is typing: ') && t.slice(20);\
         return p && arguments[1].startsWith(p) && t;",
        vec![
            json!(in_chat(&session, ".typing-preview")),
            json!("It is the Ridgeline 2"),
        ],
    )
    .await;
    customer
        .type_into(".pc-composer textarea", "\u{E007}")
        .await;
    desk_line(&anna, &session, "line--customer", "It is the Ridgeline 2").await;
    anna.until(
        "the typing preview to clear",
        "return document.querySelector(arguments[0]).textContent === '';",
        vec![json!(in_chat(&session, ".typing-preview"))],
    )
    .await;

    // The customer pane: this chat's user data next to the stored contact record, the
    // difference marked, and the earlier chat in the history.
    let pane = anna
        .until(
            "the customer pane with the contact",
            "const p = document.querySelector(arguments[0]);\
             const row = p && p.querySelector('tr[data-key=FirstName]');\
             return p && p.dataset.loaded === 'true' && row && row.querySelector('.ud-contact').textContent !== '—'\
               && [row.className, row.querySelector('.ud-chat').textContent, row.querySelector('.ud-contact').textContent,\
                   p.querySelector('tr[data-key=EmailAddress] .ud-chat').textContent,\
                   Array.from(p.querySelectorAll('.history-item')).map(h => h.textContent)];",
            vec![json!(in_chat(&session, ".customer-pane"))],
        )
        .await;
    assert_eq!(pane[1], json!("Speve"), "{pane}");
    assert_eq!(pane[2], json!("Steve"), "{pane}");
    assert!(
        pane[0].as_str().unwrap_or_default().contains("differs"),
        "{pane}"
    );
    assert_eq!(pane[3], json!("pat@example.com"), "{pane}");
    let history = pane[4].to_string();
    assert!(
        history.contains("Refund") && history.contains("Where is my refund?"),
        "{pane}"
    );

    // A reload of the desktop: logged in still, the chat back, every line exactly once;
    // then a network drop while the customer writes: the line arrives exactly once.
    let before = assert_desk_lines_once(&anna, &session, "before the reload").await;
    anna.focus().await;
    anna.page.c.refresh().await.expect("reload");
    anna.until(
        "the desktop back after the reload",
        "const s = window.__parleyDesktopTest && window.__parleyDesktopTest.state();\
         const c = s && s.chats.chats[arguments[0]];\
         return s && s.desktop === 'connected' && c && c.subscribed;",
        vec![json!(session)],
    )
    .await;
    let after = assert_desk_lines_once(&anna, &session, "after the reload").await;
    assert_eq!(before, after, "the reload redraws the same lines");
    anna.js("window.__parleyDesktopTest.dropConnections(1500);", vec![])
        .await;
    let during = "Are you still there?";
    customer
        .type_into(".pc-composer textarea", &format!("{during}\u{E007}"))
        .await;
    anna.until(
        "the desktop to reconnect after the drop",
        "const d = window.__parleyDesktopTest, s = d && d.state();\
         const c = s && s.chats.chats[arguments[0]];\
         return c && s.desktop === 'connected' && s.basic === 'connected' && c.subscribed;",
        vec![json!(session)],
    )
    .await;
    desk_line(&anna, &session, "line--customer", during).await;
    let yes = "Yes, still here. Checking our repair options.";
    anna.type_into(
        &in_chat(&session, ".composer-input"),
        &format!("{yes}\u{E007}"),
    )
    .await;
    widget_line(&customer, yes).await;
    let after_drop = assert_desk_lines_once(&anna, &session, "after the drop").await;
    assert!(after_drop.len() > after.len() + 1, "{after_drop:?}");

    // The supervisor sees the chat live, then coaches: anna sees the line, marked
    // internal; the customer never does.
    sam.until(
        "the live session in the overview",
        "return document.querySelector(`#sup-sessions tr[data-interaction-id=\"${arguments[0]}\"]`);",
        vec![json!(session)],
    )
    .await;
    sam.until(
        "anna online with one chat in the overview",
        "const r = document.querySelector('#sup-agents tr[data-login=anna]');\
         return r && r.querySelector('.agent-load').textContent.startsWith('1 /')\
           && r.querySelector('.agent-conn').textContent === 'online'\
           && document.querySelector('#sup-queues tr[data-queue=default] .q-waiting').textContent === '0';",
        vec![],
    )
    .await;
    sam.screenshot("desktop-supervisor.png").await;
    sam.click(&format!(
        "#sup-sessions tr[data-interaction-id=\"{session}\"] .sup-coach"
    ))
    .await;
    sam.until(
        "the coached chat in a tab",
        "const d = window.__parleyDesktopTest, s = d && d.state();\
         const c = s && s.chats.chats[arguments[0]];\
         return c && s.view === 'chats' && c && c.subscribed && c.visibility === 'VIP';",
        vec![json!(session)],
    )
    .await;
    sam.type_into(
        &in_chat(&session, ".composer-input"),
        &format!("{COACH_LINE}\u{E007}"),
    )
    .await;
    let coach_id = desk_line(&anna, &session, "line--internal", COACH_LINE).await;
    let mark = anna
        .js(
            "return document.querySelector(`.chat-panel[data-interaction-id=\"${arguments[0]}\"] li[data-event-id=\"${arguments[1]}\"] .internal-mark`).textContent;",
            vec![json!(session), json!(coach_id)],
        )
        .await;
    assert_eq!(mark, json!("internal — customer cannot see"));
    desk_line(&sam, &session, "line--own", COACH_LINE).await;
    // A later line the customer sees proves the coach line had its chance to arrive.
    let after_coach = "I can send you a free repair kit today.";
    anna.type_into(
        &in_chat(&session, ".composer-input"),
        &format!("{after_coach}\u{E007}"),
    )
    .await;
    widget_line(&customer, after_coach).await;
    let leaked = customer
        .js(
            "return [document.body.textContent.includes(arguments[0]),\
                     document.body.textContent.includes('Sam')];",
            vec![json!(COACH_LINE)],
        )
        .await;
    assert_eq!(
        leaked,
        json!([false, false]),
        "the customer never sees the coach"
    );
    anna.screenshot("desktop-chat.png").await;

    // anna transfers the chat to bob; bob accepts and the chat leaves anna's desktop.
    log_in(&bob, &base, "bob").await;
    set_ready(&bob).await;
    anna.click(&in_chat(&session, ".action-transfer")).await;
    anna.until(
        "the transfer form",
        "return !document.querySelector(arguments[0]).hidden;",
        vec![json!(in_chat(&session, ".transfer-form"))],
    )
    .await;
    anna.type_into(&in_chat(&session, ".transfer-target"), "bob")
        .await;
    anna.click(&in_chat(&session, ".transfer-form .form-submit"))
        .await;
    let transfer = format!("#offers > li.offer[data-interaction-id=\"{session}\"]");
    let kind = bob
        .until(
            "the transfer offer",
            "const o = document.querySelector(arguments[0]);\
             return o && [o.dataset.kind, o.querySelector('.offer-kind').textContent];",
            vec![json!(transfer)],
        )
        .await;
    assert_eq!(kind, json!(["transfer", "Transfer from anna"]));
    bob.until(
        "the offer to finish sliding in",
        "return document.getAnimations().length === 0;",
        vec![],
    )
    .await;
    bob.screenshot("desktop-transfer.png").await;
    bob.click(&format!("{transfer} .offer-accept")).await;
    bob.until(
        "bob in the chat",
        "const c = window.__parleyDesktopTest.state().chats.chats[arguments[0]];\
         return c && c.subscribed;",
        vec![json!(session)],
    )
    .await;
    // bob gets the whole conversation so far (the coach line included, marked internal).
    desk_line(&bob, &session, "line--customer", hello).await;
    desk_line(&bob, &session, "line--internal", COACH_LINE).await;
    // anna is taken out of the chat: after-chat work, then mark done.
    anna.until(
        "anna's after-chat work",
        "const p = document.querySelector(arguments[0]);\
         return p.dataset.hold === 'wrapUp' && !p.querySelector('.action-done').disabled\
           && p.querySelector('.composer-input').disabled;",
        vec![json!(in_chat(&session, ""))],
    )
    .await;
    anna.click(&in_chat(&session, ".action-done")).await;
    anna.until(
        "the chat to leave anna's desktop",
        "return !document.querySelector(`.chat-tab[data-interaction-id=\"${arguments[0]}\"]`);",
        vec![json!(session)],
    )
    .await;
    widget_line(&customer, "Bob joined").await;

    // bob and the customer chat.
    let bob_says = "Hi, Bob here. The repair kit is on its way.";
    bob.type_into(
        &in_chat(&session, ".composer-input"),
        &format!("{bob_says}\u{E007}"),
    )
    .await;
    widget_line(&customer, bob_says).await;
    let thanks = "Thank you, Bob!";
    customer
        .type_into(".pc-composer textarea", &format!("{thanks}\u{E007}"))
        .await;
    desk_line(&bob, &session, "line--customer", thanks).await;
    assert_desk_lines_once(&bob, &session, "bob's chat").await;

    // bob releases (close if no agents remain: the chat ends), then marks done.
    bob.click(&in_chat(&session, ".action-release")).await;
    bob.js(
        "document.querySelector(arguments[0]).value = 'CloseIfNoAgents';",
        vec![json!(in_chat(&session, ".release-after-action"))],
    )
    .await;
    bob.click(&in_chat(&session, ".release-form .form-submit"))
        .await;
    bob.until(
        "after-chat work",
        "const p = document.querySelector(arguments[0]);\
         return p.dataset.hold === 'wrapUp' && !p.querySelector('.action-done').disabled\
           && p.querySelector('.composer-input').disabled;",
        vec![json!(in_chat(&session, ""))],
    )
    .await;
    customer
        .until(
            "the end of the chat for the customer",
            "return document.querySelector('.pc-root').dataset.state === 'ended';",
            vec![],
        )
        .await;
    bob.click(&in_chat(&session, ".action-done")).await;
    bob.until(
        "the chat to leave bob's desktop",
        "return !document.querySelector(`.chat-tab[data-interaction-id=\"${arguments[0]}\"]`)\
           && !document.getElementById('no-chats').hidden;",
        vec![json!(session)],
    )
    .await;
    bob.until(
        "bob's load back to 0",
        "return document.getElementById('load-text').textContent.startsWith('0 /');",
        vec![],
    )
    .await;

    for w in [&customer, &anna, &sam, &bob] {
        assert_clean(w).await;
    }
}
