//! The orphan sweep racing returning clients. At the restart of a single SQLite instance
//! the sweep claims its previous life's sessions a page at a time while their customers
//! come back: a customer's request restores its session at once (claiming over the
//! sweep's claim when the sweep got there first), and the sweep then leaves that session
//! alone. Every session is restored exactly once, and every customer goes on.

use std::collections::HashMap;

use futures::StreamExt;

use crate::common::process::ServerProcess;
use crate::common::API_KEY;
use crate::gms::{service_url_at, Gms};

/// Chats open at the kill: enough pages of the sweep for the customers to race it.
const CHATS: usize = 600;

#[tokio::test]
async fn a_sweep_racing_returning_customers_restores_each_session_once() {
    let dir = tempfile::tempdir().unwrap();
    // 600 chats from one address: more than a customer's address may start by default.
    let config = format!(
        "[security]\napi-keys = [\"{API_KEY}\"]\n\n[rate-limits]\nsessions-per-address = 0\nrequests-per-address = 0\n"
    );
    let mut a = ServerProcess::start(&config, dir.path(), &[]).await;
    let addr = a.addr;
    let mut chats: Vec<Gms> = futures::stream::iter(0..CHATS)
        .map(|i| async move {
            let nickname = format!("c{i}");
            let (s, r) = Gms::request_at(addr, &[("nickname", nickname.as_str())]).await;
            assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
            Gms::from_reply_at(addr, &r)
        })
        .buffer_unordered(16)
        .collect()
        .await;
    a.kill9();

    let b = ServerProcess::start(&config, dir.path(), &[]).await;
    // The sweep goes in id order: the customers come back from the other end.
    chats.sort_by(|x, y| y.chat_id.cmp(&x.chat_id));
    futures::stream::iter(chats)
        .for_each_concurrent(32, |mut gms| async move {
            gms.base = service_url_at(b.addr);
            let (s, r) = gms.op("refresh", &[("transcriptPosition", "1")]).await;
            assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
            assert_eq!(r["chatEnded"].as_bool(), Some(false), "{r}");
        })
        .await;

    // The log is read from the process's pipe as it comes: wait (bounded) until every
    // restoration's line is in, since the last ones may still be on their way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let restored = loop {
        let restored = restorations(&b.output());
        if restored.len() >= CHATS || std::time::Instant::now() > deadline {
            break restored;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let twice: Vec<_> = restored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "restored more than once: {twice:?}");
    assert_eq!(restored.len(), CHATS, "every session restored");
}

/// How many times the log says each session was restored.
fn restorations(log: &str) -> HashMap<String, usize> {
    let mut restored: HashMap<String, usize> = HashMap::new();
    for line in log.lines().filter(|l| l.contains("session restored")) {
        let id = line
            .split("session_id=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no session id in {line:?}"));
        *restored.entry(id.to_owned()).or_default() += 1;
    }
    restored
}
