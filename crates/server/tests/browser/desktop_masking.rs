//! Masking in real Chromium (issue 13): `apply-area = always` with
//! `unmask-live-dialog`. The customer types a card number on the widget before any agent:
//! the widget shows it masked. Agent anna accepts: her desktop shows that line masked;
//! the card sent again with anna present is in clear on her desktop and the widget.
//! Supervisor sam monitors: his desktop shows every card masked. A card anna sends is
//! masked for everyone, anna too.

use std::path::Path;

use parley_core::mask::ApplyArea;
use parley_server::config::Config;
use serde_json::json;

use crate::desktop::{
    accept_offer, assert_clean, center_config, customer_window, desk_line, in_chat, log_in,
    new_window, set_ready, start_widget_chat, widget_line,
};
use crate::harness::{Page, TestServer};

const CARD: &str = "4111 1111 1111 1111";
const MASKED: &str = "**** **** **** ****";

fn masking(dir: &Path) -> Config {
    let mut config = center_config(dir);
    config.transcript_cleanup.apply_area = ApplyArea::Always;
    config.transcript_cleanup.unmask_live_dialog = true;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_is_masked_for_the_customer_and_the_monitor_and_clear_for_the_agent() {
    crate::with_browser_on(Some(masking), 1280, 800, scenario).await;
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
    // 1. Before any agent: masked on the widget too.
    customer
        .type_into(".pc-composer textarea", &format!("first {CARD}\u{E007}"))
        .await;
    widget_line(&customer, &format!("first {MASKED}")).await;

    // 2. anna accepts: the earlier line is masked on her desktop.
    accept_offer(&anna, &session).await;
    desk_line(
        &anna,
        &session,
        "line--customer",
        &format!("first {MASKED}"),
    )
    .await;

    // 3. Sent with anna present: clear for anna and the customer.
    customer
        .type_into(".pc-composer textarea", &format!("second {CARD}\u{E007}"))
        .await;
    desk_line(&anna, &session, "line--customer", &format!("second {CARD}")).await;
    widget_line(&customer, &format!("second {CARD}")).await;

    // sam monitors: masked on his desktop, the earlier lines and the next one.
    sam.click("#view-supervisor-button").await;
    let monitor = format!("#sup-sessions tr[data-interaction-id=\"{session}\"] .sup-monitor");
    sam.until(
        "the live session in the overview",
        "return document.querySelector(arguments[0]);",
        vec![json!(monitor)],
    )
    .await;
    sam.click(&monitor).await;
    desk_line(
        &sam,
        &session,
        "line--customer",
        &format!("second {MASKED}"),
    )
    .await;
    customer
        .type_into(".pc-composer textarea", &format!("third {CARD}\u{E007}"))
        .await;
    desk_line(&sam, &session, "line--customer", &format!("third {MASKED}")).await;
    desk_line(&anna, &session, "line--customer", &format!("third {CARD}")).await;

    // An agent's card number is masked for everyone, the agent too.
    anna.type_into(
        &in_chat(&session, ".composer-input"),
        &format!("yours is {CARD}\u{E007}"),
    )
    .await;
    desk_line(&anna, &session, "line--own", &format!("yours is {MASKED}")).await;
    widget_line(&customer, &format!("yours is {MASKED}")).await;
    for w in [&sam, &anna] {
        let text = w
            .js(
                "const p = document.querySelector(`.chat-panel[data-interaction-id=\"${arguments[0]}\"]`);\
                 return p.textContent;",
                vec![json!(session)],
            )
            .await;
        let text = text.as_str().unwrap_or_default();
        let clear = text.matches(CARD).count();
        let expected = if w.who == "anna" { 2 } else { 0 };
        assert_eq!(clear, expected, "{}: {text}", w.who);
        assert_clean(w).await;
    }
    let widget = customer
        .js(
            "return document.querySelector('.pc-log').textContent;",
            vec![],
        )
        .await;
    assert_eq!(
        widget.as_str().unwrap_or_default().matches(CARD).count(),
        2,
        "{widget}"
    );
    server
}
