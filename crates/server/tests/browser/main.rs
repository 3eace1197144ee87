//! The customer chat widget (`web/widget.js`) in a real headless Chromium against Parley
//! started in-process: the demo page, the pre-chat form, a conversation with an agent
//! driven over the basic protocol, typing, read ticks, links, a bot, a nickname change,
//! a file both ways, a network drop, a page reload (every line exactly once), and the
//! end of the chat. A second scenario runs the flex long-poll fallback.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them each test prints
//! `skipped: chromium not installed` and passes (CI installs them).
#![allow(unreachable_pub)]

mod desktop;
mod desktop_masking;
mod desktop_password;
mod desktop_restart;
mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use harness::{assert_strict_csp, find_chromium, Agent, Browser, Page, TestServer};
use parley_proto::basic::WireEvent;
use serde_json::json;

/// The longest a whole scenario may take.
const SCENARIO_LIMIT: Duration = Duration::from_secs(300);

/// Starts Parley and a browser, runs `scenario` (which hands the server back), and
/// always ends the browser and the server, even when the scenario fails.
async fn with_browser<F, Fut>(width: u32, height: u32, scenario: F)
where
    F: FnOnce(Page, TestServer) -> Fut,
    Fut: std::future::Future<Output = TestServer> + Send + 'static,
{
    with_browser_on(None, width, height, scenario).await;
}

/// [`with_browser`] on a server made with `config` (the harness's default when `None`).
pub(crate) async fn with_browser_on<F, Fut>(
    config: Option<fn(&std::path::Path) -> parley_server::config::Config>,
    width: u32,
    height: u32,
    scenario: F,
) where
    F: FnOnce(Page, TestServer) -> Fut,
    Fut: std::future::Future<Output = TestServer> + Send + 'static,
{
    let Some((chromium, driver)) = find_chromium() else {
        // Straight to the stderr handle: libtest captures eprintln!, and a skip must be
        // seen in a passing run.
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
    let server = match config {
        Some(make) => TestServer::start_with(make).await,
        None => TestServer::start().await,
    };
    let browser = Browser::start(&chromium, &driver, width, height).await;
    let page = Page {
        c: browser.client.clone(),
        driver_url: browser.driver_url.clone(),
    };
    let run = tokio::spawn(tokio::time::timeout(SCENARIO_LIMIT, scenario(page, server))).await;
    browser.quit().await;
    match run {
        Ok(Ok(server)) => server.stop().await,
        Ok(Err(_)) => panic!("the scenario took longer than {SCENARIO_LIMIT:?}"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Events the widget shows as a line of the conversation.
fn shown(e: &WireEvent) -> bool {
    match e.kind.as_str() {
        "newParty" | "partyLeft" | "message" => true,
        "notice" => match e.notice_type.as_deref() {
            Some("USER_PUSHED_URL") | Some("USER_UPDATE_NICK") => true,
            Some("SYS_COMMAND") => matches!(
                e.text.as_deref(),
                Some("file-uploaded") | Some("file-deleted")
            ),
            _ => false,
        },
        _ => false,
    }
}

/// Every line exactly once, in order, and exactly the lines the agent's view says the
/// customer may see.
async fn assert_every_line_once(page: &Page, agent: &mut Agent, when: &str) {
    assert_lines(page, agent, when, true).await;
}

/// As [`assert_every_line_once`]; when not `exact`, the customer may also show system
/// lines the agent did not receive (after the agent has left).
async fn assert_lines(page: &Page, agent: &mut Agent, when: &str, exact: bool) {
    agent.drain().await;
    let ids = page.line_ids().await;
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "{when}: a line is shown twice: {ids:?}"
    );
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "{when}: lines out of order: {ids:?}"
    );
    let expected: BTreeSet<u64> = agent
        .seen
        .values()
        .filter(|e| shown(e))
        .map(|e| e.event_id)
        .collect();
    if exact {
        assert_eq!(
            unique, expected,
            "{when}: the lines shown differ from the transcript"
        );
    } else {
        let missing: Vec<u64> = expected.difference(&unique).copied().collect();
        assert!(missing.is_empty(), "{when}: lines missing: {missing:?}");
        let extra: Vec<u64> = unique.difference(&expected).copied().collect();
        let classes = page
            .js(
                "return arguments[0].map(id =>\
                 document.querySelector(`.pc-log > li[data-event-id=\"${id}\"]`).className);",
                vec![json!(extra)],
            )
            .await;
        for c in classes.as_array().into_iter().flatten() {
            assert!(
                c.as_str().unwrap_or_default().contains("pc-line--system"),
                "{when}: an unexpected line: {c}"
            );
        }
    }
    let pending = page
        .js(
            "return document.querySelectorAll('.pc-pending-line, .pc-failed-line').length;",
            vec![],
        )
        .await;
    assert_eq!(
        pending,
        json!(0),
        "{when}: a send is still pending or failed"
    );
}

async fn assert_no_page_errors(page: &Page) {
    let errors = page
        .js("return window.__parleyTest.errors();", vec![])
        .await;
    assert_eq!(errors, json!([]), "script errors on the page");
    let csp = page
        .js("return window.__parleyTest.cspViolations();", vec![])
        .await;
    assert_eq!(csp, json!([]), "Content-Security-Policy violations");
}

/// Opens the widget, fills the pre-chat form and starts a chat; returns the session id
/// (read from the widget's sessionStorage record, as an integrator's agent desktop
/// would get it from routing).
async fn start_chat(page: &Page, name: &str) -> String {
    page.until(
        "the chat button",
        "return document.querySelector('.pc-launcher');",
        vec![],
    )
    .await;
    page.click(".pc-launcher").await;
    page.until(
        "focus in the name field of the pre-chat form",
        "return document.activeElement === document.querySelector('.pc-prechat input[name=name]');",
        vec![],
    )
    .await;
    page.type_into(".pc-prechat input[name=name]", name).await;
    page.type_into(".pc-prechat input[name=email]", "pat@example.com")
        .await;
    page.type_into(".pc-prechat input[name=subject]", "Order 1234")
        .await;
    page.click(".pc-start").await;
    page.until(
        "the chat to start",
        "const s = window.__parleyTest.state(); return s.ready && s.sessionId;",
        vec![],
    )
    .await;
    let stored = page
        .js(
            "const k = Object.keys(sessionStorage).find(k => k.startsWith('parley-chat:'));\
             return k && JSON.parse(sessionStorage.getItem(k));",
            vec![],
        )
        .await;
    for field in [
        "userId",
        "secureKey",
        "sessionId",
        "lastEventId",
        "nickname",
    ] {
        assert!(
            !stored[field].is_null(),
            "sessionStorage keeps {field}: {stored}"
        );
    }
    assert_eq!(stored["nickname"], json!(name));
    stored["sessionId"].as_str().expect("session id").to_owned()
}

/// Waits for the line of event `id` and returns its class and text.
async fn line(page: &Page, id: u64) -> (String, String) {
    let v = page
        .until(
            &format!("the line of event {id}"),
            "const li = document.querySelector(`.pc-log > li[data-event-id=\"${arguments[0]}\"]`);\
             return li && [li.className, li.querySelector('.pc-text').textContent];",
            vec![json!(id)],
        )
        .await;
    (
        v[0].as_str().unwrap_or_default().to_owned(),
        v[1].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_chats_with_an_agent_in_a_real_browser() {
    with_browser(1280, 900, basic_scenario).await;
}

async fn basic_scenario(page: Page, server: TestServer) -> TestServer {
    let addr = server.addr;
    let base = format!("http://{addr}");

    // The page is Parley's own, with its strict CSP.
    assert_strict_csp(&format!("{base}/web/demo.html"), "default-src 'self'").await;
    page.c
        .goto(&format!("{base}/web/demo.html"))
        .await
        .expect("open the demo page");

    // Pre-chat form, then the chat.
    let session = start_chat(&page, "Pat").await;
    let mut agent = Agent::connect(addr, "Alex").await;
    agent.join(&session, json!({})).await;
    page.until(
        "the agent's join line",
        "return Array.from(document.querySelectorAll('.pc-line--system'))\
         .some(li => li.textContent.includes('Alex joined'));",
        vec![],
    )
    .await;

    // The customer types: the agent sees the typing preview, then the message.
    let first = "Hello, my order 1234 has not arrived";
    page.type_into(".pc-composer textarea", first).await;
    let typing = agent
        .event_where("the customer's typing preview", |e| {
            e.notice_type.as_deref() == Some("TYPING_STARTED")
        })
        .await;
    let preview = typing.text.as_deref().unwrap_or_default();
    assert!(
        !preview.is_empty() && first.starts_with(preview),
        "typing carries the preview: {typing:?}"
    );
    page.type_into(".pc-composer textarea", "\u{E007}").await; // Enter sends
    let c1 = agent
        .event_where("the customer's first message", |e| {
            e.kind == "message" && e.text.as_deref() == Some(first)
        })
        .await
        .event_id;
    let (class, text) = line(&page, c1).await;
    assert!(class.contains("pc-line--own"), "{class}");
    assert_eq!(text, first);
    let cleared = page
        .js(
            "return document.querySelector('.pc-composer textarea').value;",
            vec![],
        )
        .await;
    assert_eq!(cleared, json!(""), "the input is cleared after sending");

    // The agent types: "Alex is typing…"; then answers, and the indicator goes.
    agent
        .notify(&session, "TYPING_STARTED", "Let me check", json!({}))
        .await;
    page.until(
        "the agent typing indicator",
        "return document.querySelector('.pc-typing').textContent === 'Alex is typing…';",
        vec![],
    )
    .await;
    let a1 = agent
        .say(&session, "Hi Pat! Let me look that up for you.")
        .await;
    let (class, _) = line(&page, a1).await;
    assert!(class.contains("pc-line--agent"), "{class}");
    page.until(
        "the typing indicator to clear",
        "return document.querySelector('.pc-typing').textContent === '';",
        vec![],
    )
    .await;

    // The widget confirms reading the agent's message ...
    let rc = agent
        .event_where("the customer's read-confirm", |e| {
            e.text.as_deref() == Some("read-confirm")
                && e.user_data
                    .as_ref()
                    .and_then(|u| u.get("last-event-id"))
                    .and_then(|v| v.parse::<u64>().ok())
                    .is_some_and(|v| v >= a1)
        })
        .await;
    assert_eq!(rc.notice_type.as_deref(), Some("SYS_COMMAND"));
    // ... and shows a tick once the agent confirms reading the customer's.
    let tick_hidden =
        "const t = document.querySelector(`li[data-event-id=\"${arguments[0]}\"] .pc-tick`);\
                       return t ? t.hidden : 'missing';";
    assert_eq!(page.js(tick_hidden, vec![json!(c1)]).await, json!(true));
    agent
        .notify(
            &session,
            "SYS_COMMAND",
            "read-confirm",
            json!({"last-event-id": c1.to_string()}),
        )
        .await;
    page.until(
        "the read tick on the customer's message",
        "const t = document.querySelector(`li[data-event-id=\"${arguments[0]}\"] .pc-tick`);\
         return t && !t.hidden;",
        vec![json!(c1)],
    )
    .await;

    // Keyboard and screen reader: every control has a name; the log is a polite live
    // region; Escape closes the panel and gives focus back to the chat button, which
    // then counts unread lines; opening it again focuses the message field.
    let unnamed = page
        .js(
            "return Array.from(document.querySelectorAll('.pc-root input, .pc-root textarea, .pc-root button'))\
             .filter(e => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim()))\
             .map(e => e.outerHTML);",
            vec![],
        )
        .await;
    assert_eq!(unnamed, json!([]), "controls without an accessible name");
    let live = page
        .js(
            "const l = document.querySelector('.pc-log');\
             return [l.getAttribute('role'), l.getAttribute('aria-live'), !!l.getAttribute('aria-label')];",
            vec![],
        )
        .await;
    assert_eq!(live, json!(["log", "polite", true]));
    page.type_into(".pc-composer textarea", "\u{E00C}").await; // Escape
    page.until(
        "Escape to close the panel and focus the chat button",
        "return document.querySelector('.pc-panel').hidden\
                && document.activeElement === document.querySelector('.pc-launcher')\
                && document.querySelector('.pc-launcher').getAttribute('aria-expanded') === 'false';",
        vec![],
    )
    .await;
    let while_closed = agent.say(&session, "Are you still there?").await;
    page.until(
        "the unread count on the chat button",
        "return document.querySelector('.pc-launcher').textContent === 'Chat with us (1 new)';",
        vec![],
    )
    .await;
    page.click(".pc-launcher").await;
    page.until(
        "focus in the message field after opening",
        "return document.activeElement === document.querySelector('.pc-composer textarea')\
                && document.querySelector('.pc-launcher').textContent === 'Chat with us';",
        vec![],
    )
    .await;
    agent
        .event_where("the read-confirm after reopening", |e| {
            e.text.as_deref() == Some("read-confirm")
                && e.user_data
                    .as_ref()
                    .and_then(|u| u.get("last-event-id"))
                    .and_then(|v| v.parse::<u64>().ok())
                    .is_some_and(|v| v >= while_closed)
        })
        .await;

    // Text is text: markup from the other side is shown, never run.
    let markup = "<img src=x onerror=\"window.__pwned=1\"> <b>bold?</b>";
    let m = agent.say(&session, markup).await;
    let (_, text) = line(&page, m).await;
    assert_eq!(text, markup);
    let injected = page
        .js(
            "return [document.querySelectorAll('.pc-log img, .pc-log b').length, window.__pwned === undefined];",
            vec![],
        )
        .await;
    assert_eq!(injected, json!([0, true]), "markup was interpreted");

    // Pushed URLs: http(s) become safe links, anything else stays text.
    let url = agent
        .notify(
            &session,
            "USER_PUSHED_URL",
            "https://example.com/track?order=1234",
            json!({}),
        )
        .await;
    line(&page, url).await;
    let link = page
        .js(
            "const a = document.querySelector(`li[data-event-id=\"${arguments[0]}\"] a`);\
             return a && [a.href, a.target, a.rel, a.textContent];",
            vec![json!(url)],
        )
        .await;
    assert_eq!(
        link,
        json!([
            "https://example.com/track?order=1234",
            "_blank",
            "noopener noreferrer",
            "https://example.com/track?order=1234"
        ])
    );
    let bad = agent
        .notify(
            &session,
            "USER_PUSHED_URL",
            "javascript:alert(1)",
            json!({}),
        )
        .await;
    let (_, text) = line(&page, bad).await;
    assert!(text.contains("javascript:alert(1)"), "{text}");
    let anchors = page
        .js(
            "return document.querySelectorAll(`li[data-event-id=\"${arguments[0]}\"] a`).length;",
            vec![json!(bad)],
        )
        .await;
    assert_eq!(
        anchors,
        json!(0),
        "a javascript: URL must not become a link"
    );

    // A bot joins, speaks in its own style, and leaves.
    let mut bot = Agent::connect(addr, "HelperBot").await;
    bot.join(&session, json!({"GCTI_Chat_SetPartyStyle": "BOT"}))
        .await;
    let b1 = bot
        .say(&session, "I can track parcels. Your parcel is in Lyon.")
        .await;
    let (class, _) = line(&page, b1).await;
    assert!(class.contains("pc-line--bot"), "{class}");
    bot.call(json!({"type": "release", "sessionId": session}))
        .await;
    page.until(
        "the bot's leave line",
        "return Array.from(document.querySelectorAll('.pc-line--system'))\
         .some(li => li.textContent.includes('HelperBot left'));",
        vec![],
    )
    .await;

    // Nickname change from the header.
    page.click(".pc-nick-button").await;
    let nick_input = page
        .c
        .find(fantoccini::Locator::Css(".pc-nick-form input"))
        .await
        .expect("nickname input");
    nick_input.clear().await.expect("clear");
    nick_input
        .send_keys("Patricia\u{E007}")
        .await
        .expect("type");
    let nick = agent
        .event_where("the nickname change", |e| {
            e.notice_type.as_deref() == Some("USER_UPDATE_NICK")
        })
        .await;
    assert_eq!(nick.text.as_deref(), Some("Patricia"));
    line(&page, nick.event_id).await;

    // A file: the limits are shown before any upload; the agent sees the upload; the
    // download link returns the same bytes.
    let hint = page
        .until(
            "the file limits hint",
            "const h = document.querySelector('.pc-hint');\
             return h && !h.closest('[hidden]') && h.textContent.includes('Files up to') && h.textContent;",
            vec![],
        )
        .await;
    assert!(
        hint.as_str().unwrap_or_default().contains("3 more"),
        "{hint}"
    );
    let upload_dir = tempfile::tempdir().expect("temp dir");
    let file_path = upload_dir.path().join("receipt.txt");
    let content = "Receipt #1234\nRidgeline 2 tent: EUR 249\n";
    std::fs::write(&file_path, content).expect("write file");
    page.c
        .find(fantoccini::Locator::Css(".pc-file-input"))
        .await
        .expect("file input")
        .send_keys(&file_path.to_string_lossy())
        .await
        .expect("choose a file");
    let uploaded = agent
        .event_where("the file-uploaded notice", |e| {
            e.text.as_deref() == Some("file-uploaded")
        })
        .await;
    let ud = uploaded.user_data.clone().expect("file user data");
    assert_eq!(ud.get("file-name").map(String::as_str), Some("receipt.txt"));
    assert_eq!(
        ud.get("file-size").map(String::as_str),
        Some(content.len().to_string().as_str())
    );
    let file_id = ud.get("file-id").expect("file-id").clone();
    line(&page, uploaded.event_id).await;
    // The agent can fetch it too.
    let got = reqwest::Client::new()
        .post(format!("{base}/flex/v1/file/download"))
        .json(
            &json!({"userId": agent.user_id, "secureKey": agent.secure_key,
            "sessionId": session, "fileId": file_id}),
        )
        .send()
        .await
        .expect("agent download");
    assert_eq!(got.status().as_u16(), 200, "the agent downloads the file");
    assert_eq!(got.text().await.expect("body"), content);
    // The customer's download button: fetch → blob → object URL.
    page.click(&format!(".pc-download[data-file-id=\"{file_id}\"]"))
        .await;
    let dl = page
        .until(
            "the download",
            "return window.__parleyTest.lastDownload();",
            vec![],
        )
        .await;
    assert_eq!(dl["size"], json!(content.len()), "download: {dl}");
    let text = page
        .js_async(
            "const done = arguments[arguments.length - 1];\
             window.__parleyTest.fetchFileText(arguments[0]).then(done, e => done('error: ' + e));",
            vec![json!(file_id)],
        )
        .await;
    assert_eq!(text, json!(content));
    page.until(
        "the limits to count the upload",
        "return document.querySelector('.pc-hint').textContent.includes('2 more');",
        vec![],
    )
    .await;

    assert_every_line_once(&page, &mut agent, "before the drop").await;

    // The network drops: the agent keeps writing, the customer writes offline.
    page.js("window.__parleyTest.dropConnection(2500);", vec![])
        .await;
    page.until(
        "the widget to notice the drop",
        "return !window.__parleyTest.state().ready;",
        vec![],
    )
    .await;
    let mut away = Vec::new();
    for i in 1..=3 {
        away.push(
            agent
                .say(&session, &format!("While you were away {i}"))
                .await,
        );
    }
    let offline = "Sorry, my connection dropped";
    page.type_into(".pc-composer textarea", &format!("{offline}\u{E007}"))
        .await;
    page.until(
        "the offline message to wait as pending",
        "return document.querySelectorAll('.pc-pending-line').length === 1;",
        vec![],
    )
    .await;
    page.until(
        "the reconnect",
        "return window.__parleyTest.state().ready;",
        vec![],
    )
    .await;
    for id in &away {
        line(&page, *id).await;
    }
    agent
        .event_where("the message written offline", |e| {
            e.kind == "message" && e.text.as_deref() == Some(offline)
        })
        .await;
    page.until(
        "the offline message to be acknowledged",
        "return document.querySelectorAll('.pc-pending-line').length === 0;",
        vec![],
    )
    .await;
    assert_every_line_once(&page, &mut agent, "after the drop").await;

    // A reload mid-conversation, with the agent writing while the page loads.
    let r1 = agent.say(&session, "Before the reload").await;
    line(&page, r1).await;
    page.c.refresh().await.expect("reload");
    let r2 = agent.say(&session, "During the reload").await;
    page.until(
        "the widget to come back after the reload",
        "return window.__parleyTest && window.__parleyTest.state().ready;",
        vec![],
    )
    .await;
    line(&page, r2).await;
    let r3 = agent.say(&session, "After the reload").await;
    line(&page, r3).await;
    page.type_into(".pc-composer textarea", "Thanks, all good\u{E007}")
        .await;
    agent
        .event_where("the customer's message after the reload", |e| {
            e.kind == "message" && e.text.as_deref() == Some("Thanks, all good")
        })
        .await;
    page.until(
        "the message after the reload to be acknowledged",
        "return document.querySelectorAll('.pc-pending-line').length === 0;",
        vec![],
    )
    .await;
    assert_every_line_once(&page, &mut agent, "after the reload").await;
    // Still the same customer: the read tick and the own style survived the reload.
    let (class, _) = line(&page, c1).await;
    assert!(
        class.contains("pc-line--own") && class.contains("pc-read"),
        "{class}"
    );
    // The agent saw each customer message exactly once.
    let mut texts: BTreeMap<String, usize> = BTreeMap::new();
    for e in agent.seen.values().filter(|e| e.kind == "message") {
        *texts.entry(e.text.clone().unwrap_or_default()).or_default() += 1;
    }
    assert!(
        texts.values().all(|n| *n == 1),
        "a message was stored twice: {texts:?}"
    );

    // Screenshots: the varied middle of the conversation (agent, markup, links, bot,
    // nickname, file, read tick), then its end.
    page.js(
        "const log = document.querySelector('.pc-log');\
         const li = log.querySelector(`li[data-event-id=\"${arguments[0]}\"]`);\
         log.scrollTop += li.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;",
        vec![json!(c1)],
    )
    .await;
    let shot = page.save_screenshot("widget-conversation.png").await;
    eprintln!("screenshot: {}", shot.display());
    page.js(
        "const log = document.querySelector('.pc-log');\
         const li = log.querySelector(`li[data-event-id=\"${arguments[0]}\"]`);\
         log.scrollTop += li.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;",
        vec![json!(b1)],
    )
    .await;
    page.save_screenshot("widget-conversation-bot-file.png")
        .await;
    page.js(
        "const log = document.querySelector('.pc-log'); log.scrollTop = log.scrollHeight;",
        vec![],
    )
    .await;

    // The agent ends the chat: input closes, a new chat can start.
    agent
        .call(json!({"type": "release", "sessionId": session, "afterAction": "ForceClose"}))
        .await;
    page.until(
        "the ended state",
        "const r = document.querySelector('.pc-root');\
         return r.dataset.state === 'ended' && !document.querySelector('.pc-ended').hidden;",
        vec![],
    )
    .await;
    let closed = page
        .js(
            "const t = document.querySelector('.pc-composer textarea');\
             return [t.disabled, document.querySelector('.pc-composer').hidden,\
                     document.querySelector('.pc-ended-text').textContent];",
            vec![],
        )
        .await;
    assert_eq!(closed, json!([true, true, "This chat has ended."]));
    assert_lines(&page, &mut agent, "after the end", false).await;
    page.save_screenshot("widget-ended.png").await;
    // The ended state survives a reload too.
    page.c.refresh().await.expect("reload");
    page.until(
        "the ended state after a reload",
        "const r = document.querySelector('.pc-root');\
         return r && r.dataset.state === 'ended';",
        vec![],
    )
    .await;
    page.click(".pc-new-chat").await;
    page.until(
        "a fresh pre-chat form with the name kept",
        "const f = document.querySelector('.pc-prechat');\
         return !f.hidden && f.querySelector('input[name=name]').value === 'Patricia'\
                && document.activeElement === f.querySelector('input[name=name]');",
        vec![],
    )
    .await;
    assert_no_page_errors(&page).await;

    // A phone-sized screen: the open panel fills it.
    page.emulate_phone(390, 760).await;
    let fits = page
        .until(
            "a full-screen panel on a small screen",
            "const r = document.querySelector('.pc-panel').getBoundingClientRect();\
             return Math.abs(r.width - window.innerWidth) < 2 && Math.abs(r.height - window.innerHeight) < 2\
                    && [r.width, window.innerWidth];",
            vec![],
        )
        .await;
    eprintln!("phone layout: {fits}");
    page.save_screenshot("widget-phone.png").await;

    // Translated strings: German and French from the config's lang.
    for (lang, launcher) in [("de", "Chat starten"), ("fr", "Discuter avec nous")] {
        page.c
            .goto(&format!("{base}/web/demo.html?lang={lang}"))
            .await
            .expect("open the demo page");
        page.until(
            &format!("the {lang} launcher"),
            "const l = document.querySelector('.pc-launcher');\
             return l && l.textContent === arguments[0];",
            vec![json!(launcher)],
        )
        .await;
    }
    server
}

/// A WebSocket whose connection always fails, as through a proxy that refuses it.
const BLOCKED_WEBSOCKET: &str = "(() => {
  class BlockedWebSocket extends EventTarget {
    constructor(url) {
      super();
      this.url = String(url);
      this.readyState = 0;
      setTimeout(() => {
        this.readyState = 3;
        const error = new Event('error');
        const close = new CloseEvent('close', { code: 1006, wasClean: false });
        if (this.onerror) this.onerror(error);
        this.dispatchEvent(error);
        if (this.onclose) this.onclose(close);
        this.dispatchEvent(close);
      }, 30);
    }
    send() { throw new DOMException('not open', 'InvalidStateError'); }
    close() {}
  }
  Object.assign(BlockedWebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  window.WebSocket = BlockedWebSocket;
})();";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_falls_back_to_flex_long_poll_when_websockets_are_blocked() {
    with_browser(1024, 800, flex_scenario).await;
}

async fn flex_scenario(page: Page, server: TestServer) -> TestServer {
    let addr = server.addr;
    let base = format!("http://{addr}");
    // The WebSocket cannot connect (as behind a proxy that blocks it): the widget, with
    // its default transport, must fall back to flex by itself. (CDP's URL blocking does
    // not cover WebSockets, so every page gets a WebSocket that always fails.)
    page.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": BLOCKED_WEBSOCKET}),
    )
    .await;
    page.c
        .goto(&format!("{base}/web/demo.html"))
        .await
        .expect("open the demo page");
    let session = start_chat(&page, "Flo").await;
    assert_eq!(page.state().await["transport"], json!("flex"));
    let mut agent = Agent::connect(addr, "Alex").await;
    agent.join(&session, json!({})).await;
    let hello = agent.say(&session, "Hello over long-poll").await;
    line(&page, hello).await;
    page.type_into(".pc-composer textarea", "Hi from flex\u{E007}")
        .await;
    let c1 = agent
        .event_where("the flex customer's message", |e| {
            e.kind == "message" && e.text.as_deref() == Some("Hi from flex")
        })
        .await
        .event_id;
    line(&page, c1).await;

    // A dropped poll: the agent writes meanwhile; nothing is lost or doubled.
    page.js("window.__parleyTest.dropConnection(1500);", vec![])
        .await;
    let a2 = agent.say(&session, "Written during the drop").await;
    line(&page, a2).await;
    // A reload.
    page.c.refresh().await.expect("reload");
    let a3 = agent.say(&session, "Written during the reload").await;
    line(&page, a3).await;
    page.until(
        "the flex widget to be ready after the reload",
        "return window.__parleyTest.state().ready;",
        vec![],
    )
    .await;
    assert_every_line_once(&page, &mut agent, "flex, after the reload").await;

    // The customer ends the chat (flex logout), after confirming.
    page.click(".pc-end-button").await;
    page.until(
        "the end confirmation, focused on Cancel",
        "return !document.querySelector('.pc-confirm').hidden\
                && document.activeElement === document.querySelector('.pc-end-no');",
        vec![],
    )
    .await;
    page.click(".pc-end-yes").await;
    page.until(
        "the ended state (flex)",
        "return document.querySelector('.pc-root').dataset.state === 'ended'\
                && document.querySelector('.pc-composer textarea').disabled;",
        vec![],
    )
    .await;
    let left = agent
        .event_where("the customer leaving", |e| {
            e.kind == "partyLeft" && e.nickname == "Flo"
        })
        .await;
    assert_eq!(left.reason.map(|r| r.code), Some(0), "the customer quit");
    let ids = page.line_ids().await;
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a line is shown twice: {ids:?}");
    assert_no_page_errors(&page).await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_survives_a_server_restart() {
    with_browser(1280, 900, restart_scenario).await;
}

async fn restart_scenario(page: Page, server: TestServer) -> TestServer {
    let base = format!("http://{}", server.addr);
    page.c
        .goto(&format!("{base}/web/demo.html"))
        .await
        .expect("open the demo page");
    let session = start_chat(&page, "Rita").await;
    let mut agent = Agent::connect(server.addr, "Alex").await;
    agent.join(&session, json!({})).await;
    let before = agent.say(&session, "Before the restart").await;
    line(&page, before).await;
    page.type_into(".pc-composer textarea", "Hello before the restart\u{E007}")
        .await;
    agent
        .event_where("the customer's message before the restart", |e| {
            e.kind == "message" && e.text.as_deref() == Some("Hello before the restart")
        })
        .await;
    assert_every_line_once(&page, &mut agent, "before the restart").await;

    // An operator restarts Parley: the session is restored from the store; both parties
    // come back (the widget by itself) and nothing is lost, doubled or ended.
    let server = server.restart().await;
    let mut agent = agent.reconnect(server.addr, "Alex", &session).await;
    let after = agent.say(&session, "After the restart").await;
    line(&page, after).await;
    page.until(
        "the widget to be back",
        "return window.__parleyTest.state().ready;",
        vec![],
    )
    .await;
    page.type_into(".pc-composer textarea", "Still here\u{E007}")
        .await;
    agent
        .event_where("the customer's message after the restart", |e| {
            e.kind == "message" && e.text.as_deref() == Some("Still here")
        })
        .await;
    page.until(
        "the message after the restart to be acknowledged",
        "return document.querySelectorAll('.pc-pending-line').length === 0;",
        vec![],
    )
    .await;
    assert_eq!(
        page.js(
            "return document.querySelector('.pc-root').dataset.state;",
            vec![]
        )
        .await,
        json!("chatting"),
        "a restoration is not the end of the chat"
    );
    assert_every_line_once(&page, &mut agent, "after the restart").await;
    page.save_screenshot("widget-restored.png").await;
    assert_no_page_errors(&page).await;
    server
}
