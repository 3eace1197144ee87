//! The agent desktop across a restart, in real Chromium: a customer on the widget and
//! agent anna on the desktop are chatting when an operator restarts Parley. The desktop
//! reconnects by itself with the login token it holds (tokens live in the store), keeps
//! the chat (routing gives a handled chat back to its agent) and resumes it; lines go on
//! both ways, each shown once.

use serde_json::json;

use crate::desktop::{
    accept_offer, assert_clean, assert_desk_lines_once, center_config, customer_window, desk_line,
    in_chat, log_in, new_window, set_ready, start_widget_chat, widget_line,
};
use crate::harness::{Page, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_desktop_keeps_its_chat_across_a_restart() {
    crate::with_browser_on(Some(center_config), 1280, 800, scenario).await;
}

async fn scenario(page: Page, server: TestServer) -> TestServer {
    let base = format!("http://{}", server.addr);
    let customer = customer_window(&page).await;
    let anna = new_window(&page, "anna").await;
    log_in(&anna, &base, "anna").await;
    set_ready(&anna).await;

    let session = start_widget_chat(&customer, &base, "Pat").await;
    accept_offer(&anna, &session).await;
    anna.until(
        "the chat, joined",
        "const s = window.__parleyDesktopTest.state().chats.chats[arguments[0]];\
         return s && s.subscribed;",
        vec![json!(session)],
    )
    .await;
    customer
        .type_into(".pc-composer textarea", "Before the restart\u{E007}")
        .await;
    desk_line(&anna, &session, "line--customer", "Before the restart").await;
    anna.type_into(
        &in_chat(&session, ".composer-input"),
        "Anna before the restart\u{E007}",
    )
    .await;
    widget_line(&customer, "Anna before the restart").await;

    // An operator restarts Parley.
    let server = server.restart().await;

    anna.until(
        "the desktop back, following the chat again",
        "const d = window.__parleyDesktopTest.state(), s = d.chats.chats[arguments[0]];\
         return d.desktop === 'connected' && d.basic === 'connected' && s && s.subscribed;",
        vec![json!(session)],
    )
    .await;
    customer
        .type_into(".pc-composer textarea", "After the restart\u{E007}")
        .await;
    desk_line(&anna, &session, "line--customer", "After the restart").await;
    anna.type_into(
        &in_chat(&session, ".composer-input"),
        "Anna after the restart\u{E007}",
    )
    .await;
    widget_line(&customer, "Anna after the restart").await;
    desk_line(&anna, &session, "line--own", "Anna after the restart").await;
    let ids = assert_desk_lines_once(&anna, &session, "after the restart").await;
    let before = desk_line(&anna, &session, "line--customer", "Before the restart").await;
    assert!(ids.contains(&before), "the earlier lines are still shown");
    assert_clean(&anna).await;
    server
}
