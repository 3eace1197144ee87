//! Stored contact data belongs to staff (issue 13): a customer's own events carry only
//! what that customer sent, on every transport, and a first name alone identifies
//! nobody. Customer A chats with an email address, a phone number and the name Zed
//! Xenakis; visitor B, who gives only `FirstName` Zed (flex, basic, GMS), must receive
//! nothing of A's. A's own later chat is matched to A's contact, and the staff views
//! (the desktop's offer and `assigned`, the interaction record) show the contact while
//! A's own events still carry only what A sent this time.

use parley_server::config::{QueueConfig, Secret};
use serde_json::{json, Value};

use crate::common::{TestServer, WAIT};
use crate::contacts::{admin_get, ADMIN_KEY};
use crate::desk::{self, token, Desk};
use crate::flex::post;
use crate::gms::Gms;

const EMAIL: &str = "zed.x@example.test";
const PHONE: &str = "+1 555 010 9999";
const FIRST: &str = "Zed";
const LAST: &str = "Xenakis";

/// Routing with desktops (anna, bob, sam) and the admin API.
async fn start() -> TestServer {
    TestServer::start(|c| {
        desk::center(c, QueueConfig::default());
        c.security.admin_api_keys = vec![Secret::new(ADMIN_KEY)];
    })
    .await
}

/// Customer A's first chat, over the basic protocol, with all four attributes; returns
/// the contact it created. The chat waits in the `default` queue.
async fn customer_a(server: &TestServer) -> String {
    let mut a = server.client().await;
    a.register("Zed", "CLIENT", 106).await;
    let info = a
        .create(json!({"EmailAddress": EMAIL, "PhoneNumber": PHONE,
                        "FirstName": FIRST, "LastName": LAST}))
        .await;
    contact_of(server, &info.session_id)
        .await
        .expect("A's first chat creates a contact")
}

/// The contact an interaction is linked to, once the background link is written (it
/// agrees with the interaction's `ContactID`).
async fn contact_of(server: &TestServer, session: &str) -> Option<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (s, r) = admin_get(server, &format!("/admin/v1/interactions/{session}")).await;
        assert_eq!(s, 200, "{r}");
        let from_user_data = r["userData"]["ContactID"].as_str().map(str::to_owned);
        let linked = r["contactId"].as_str().map(str::to_owned);
        if from_user_data == linked && r["properties"]["SubmittedAt"].is_string() {
            return linked;
        }
        assert!(tokio::time::Instant::now() < deadline, "{r}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Fails when `what` shows anything of A's stored record.
#[track_caller]
fn assert_nothing_of_a(what: &str, v: &impl ToString, contact: &str) {
    let text = v.to_string();
    for secret in [EMAIL, PHONE, "5550109999", LAST, contact, "ContactID"] {
        assert!(
            !text.contains(secret),
            "{what} shows {secret:?} of customer A: {text}"
        );
    }
}

/// The `userData` of the customer's own `newParty` among `events`.
fn own_join_data(events: &[Value], kind_key: &str) -> Value {
    events
        .iter()
        .find(|e| e[kind_key] == "newParty" || e[kind_key] == "ParticipantJoined")
        .map(|e| e["userData"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_visitor_giving_only_a_first_name_gets_nothing_of_a_stored_customer() {
    let server = start().await;
    let a = customer_a(&server).await;

    // Over flex: the login's firstName, nothing else.
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let (s, login) = post(&http, &base, "login", json!({"firstName": FIRST})).await;
    assert_eq!(s, 200, "{login}");
    let auth = json!({"userId": login["userId"], "secureKey": login["secureKey"]});
    let (s, joined) = post(&http, &base, "join", auth.clone()).await;
    assert_eq!(s, 200, "{joined}");
    assert_nothing_of_a("the flex join reply", &joined, &a);
    let events = joined["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        own_join_data(&events, "kind"),
        json!({"FirstName": FIRST}),
        "{joined}"
    );
    let flex_session = joined["sessionId"].as_str().expect("session").to_owned();
    let mut refresh = auth.clone();
    refresh["sessionId"] = json!(flex_session);
    refresh["transcriptPosition"] = json!(1);
    let (s, r) = post(&http, &base, "refresh", refresh).await;
    assert_eq!(s, 200, "{r}");
    assert_nothing_of_a("a flex refresh", &r, &a);
    assert_eq!(
        contact_of(&server, &flex_session).await,
        None,
        "a first name alone identifies nobody"
    );

    // Over basic: `FirstName` in the createSession's user data.
    let mut b = server.client().await;
    b.register("Zed", "CLIENT", 106).await;
    let info = b.create(json!({"FirstName": FIRST})).await;
    assert_nothing_of_a("the basic sessionInfo", &format!("{info:?}"), &a);
    let own = info
        .events
        .iter()
        .find(|e| e.kind == "newParty")
        .expect("its own join in the sessionInfo");
    assert_eq!(
        own.user_data.clone().unwrap_or_default(),
        [("FirstName".to_owned(), FIRST.to_owned())].into(),
        "{own:?}"
    );
    assert_nothing_of_a("the basic newParty", &format!("{own:?}"), &a);
    assert_eq!(contact_of(&server, &info.session_id).await, None);

    // Over GMS: `firstName` of requestChat, and a refresh.
    let (s, r) = Gms::request(&server, &[("firstName", FIRST)]).await;
    assert_eq!((s, r["statusCode"].as_i64()), (200, Some(0)), "{r}");
    assert_nothing_of_a("the GMS requestChat reply", &r, &a);
    let g = Gms::from_reply(&server, &r);
    let (s, r) = g.op("refresh", &[("transcriptPosition", "1")]).await;
    assert_eq!(s, 200, "{r}");
    assert_nothing_of_a("a GMS refresh", &r, &a);
    assert_eq!(contact_of(&server, &g.chat_id).await, None);

    let (_, contacts) = admin_get(&server, "/admin/v1/contacts?limit=50").await;
    assert_eq!(
        contacts["contacts"].as_array().map(Vec::len),
        Some(1),
        "nobody new for a first name: {contacts}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_returning_customers_own_events_carry_what_it_sent_and_staff_see_the_contact() {
    let server = start().await;
    let a = customer_a(&server).await;
    // anna takes A's first chat (still waiting in the queue); bob takes the next.
    let anna_token = token(server.addr, "anna").await;
    let mut anna = Desk::open(server.addr, &anna_token).await;
    anna.ok(json!({"type": "ready"})).await;
    anna.offer().await;
    let bob_token = token(server.addr, "bob").await;
    let mut bob = Desk::open(server.addr, &bob_token).await;
    bob.ok(json!({"type": "ready"})).await;

    // A comes back over flex with its email address only: identified as A.
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let (s, login) = post(
        &http,
        &base,
        "login",
        json!({"nickname": "Z", "emailAddress": EMAIL}),
    )
    .await;
    assert_eq!(s, 200, "{login}");
    let auth = json!({"userId": login["userId"], "secureKey": login["secureKey"]});
    let (s, joined) = post(&http, &base, "join", auth).await;
    assert_eq!(s, 200, "{joined}");
    let session = joined["sessionId"].as_str().expect("session").to_owned();
    assert_eq!(
        contact_of(&server, &session).await.as_deref(),
        Some(a.as_str())
    );
    let events = joined["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        own_join_data(&events, "kind"),
        json!({"EmailAddress": EMAIL}),
        "only what it sent: {joined}"
    );

    // Staff see the contact: the offer, `assigned`, the interaction record.
    let offer = bob.offer().await;
    assert_eq!(offer["interactionId"], session.as_str());
    for (k, v) in [
        ("EmailAddress", EMAIL),
        ("PhoneNumber", PHONE),
        ("FirstName", FIRST),
        ("LastName", LAST),
        ("ContactID", a.as_str()),
    ] {
        assert_eq!(offer["userData"][k], v, "{offer}");
    }
    let assigned = bob.accept(&session).await;
    assert_eq!(assigned["userData"]["LastName"], LAST, "{assigned}");
    let (_, record) = admin_get(&server, &format!("/admin/v1/interactions/{session}")).await;
    assert_eq!(record["userData"]["PhoneNumber"], PHONE, "{record}");
    server.stop().await;
}
