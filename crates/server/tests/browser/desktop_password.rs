//! The shipped desktop with `session-password-enforce = true`, in real Chromium (issue
//! 13): a customer on the widget starts a chat; agent anna accepts it and her desktop
//! joins with the password that came with `assigned`; lines go both ways; supervisor sam
//! monitors it from the supervisor view and his desktop joins silently with the password
//! too; anna's desktop reloads (the password is not in sessionStorage: the `welcome`
//! brings it again) and goes on. Before the fix the join failed with 2004.

use std::path::Path;

use parley_server::config::Config;
use serde_json::json;

use crate::desktop::{
    accept_offer, assert_clean, assert_desk_lines_once, center_config, customer_window, desk_line,
    in_chat, log_in, new_window, set_ready, start_widget_chat, widget_line, Win,
};
use crate::harness::{Page, TestServer};

fn enforced(dir: &Path) -> Config {
    let mut config = center_config(dir);
    config.settings.session_password_enforce = true;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_joins_routed_chats_when_session_passwords_are_enforced() {
    crate::with_browser_on(Some(enforced), 1280, 800, scenario).await;
}

/// Waits until the desktop in `w` follows chat `id` with `visibility`.
async fn following(w: &Win, id: &str, visibility: &str) {
    w.until(
        &format!("chat {id} joined ({visibility})"),
        "const s = window.__parleyDesktopTest.state(), c = s.chats.chats[arguments[0]];\
         return c && c.subscribed && c.visibility === arguments[1];",
        vec![json!(id), json!(visibility)],
    )
    .await;
}

async fn scenario(page: Page, server: TestServer) -> TestServer {
    let base = format!("http://{}", server.addr);
    let customer = customer_window(&page).await;
    let anna = new_window(&page, "anna").await;
    let sam = new_window(&page, "sam").await;
    log_in(&anna, &base, "anna").await;
    set_ready(&anna).await;
    log_in(&sam, &base, "sam").await;

    let session = start_widget_chat(&customer, &base, "Pat").await;
    accept_offer(&anna, &session).await;
    following(&anna, &session, "ALL").await;
    customer
        .type_into(".pc-composer textarea", "Is anyone there?\u{E007}")
        .await;
    desk_line(&anna, &session, "line--customer", "Is anyone there?").await;
    anna.type_into(
        &in_chat(&session, ".composer-input"),
        "Anna here, with the password\u{E007}",
    )
    .await;
    widget_line(&customer, "Anna here, with the password").await;

    // The password stays out of the desktop's storage.
    let stored = anna
        .js("return JSON.stringify(window.sessionStorage);", vec![])
        .await;
    let stored = stored.as_str().unwrap_or_default();
    assert!(
        !stored.contains("sessionPassword") && !stored.contains("GCTI_Chat_SessionPassword"),
        "the password is not stored: {stored}"
    );

    // sam monitors from the supervisor view: his desktop joins with the password too.
    sam.click("#view-supervisor-button").await;
    sam.until(
        "the live session in the overview",
        "return document.querySelector(`#sup-sessions tr[data-interaction-id=\"${arguments[0]}\"] .sup-monitor`);",
        vec![json!(session)],
    )
    .await;
    sam.click(&format!(
        "#sup-sessions tr[data-interaction-id=\"{session}\"] .sup-monitor"
    ))
    .await;
    following(&sam, &session, "INT").await;
    customer
        .type_into(".pc-composer textarea", "Thanks!\u{E007}")
        .await;
    desk_line(&sam, &session, "line--customer", "Thanks!").await;

    // anna reloads: the chat comes back from storage, the `welcome` brings the password.
    anna.focus().await;
    anna.page.c.refresh().await.expect("reload");
    following(&anna, &session, "ALL").await;
    anna.type_into(
        &in_chat(&session, ".composer-input"),
        "Still here after a reload\u{E007}",
    )
    .await;
    widget_line(&customer, "Still here after a reload").await;
    desk_line(&sam, &session, "line--agent", "Still here after a reload").await;
    assert_desk_lines_once(&anna, &session, "after the reload").await;
    for w in [&anna, &sam] {
        let notice = w
            .js(
                "const p = document.querySelector(`.chat-panel[data-interaction-id=\"${arguments[0]}\"]`);\
                 return p.querySelector('.chat-notice').textContent;",
                vec![json!(session)],
            )
            .await;
        assert!(
            !notice.as_str().unwrap_or_default().contains("Cannot open"),
            "{}: {notice}",
            w.who
        );
        assert_clean(w).await;
    }
    server
}
