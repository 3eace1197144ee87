//! Contact identification when a customer creates a chat (the seed's "Matching Contact
//! Attributes", UCS's role): before the session exists, its user data is matched against
//! the stored contacts of its tenant, by the search order of `parley_core::contacts`
//! (email address, then phone number, then first + last name).
//!
//! - No identifying attribute (no email address, no phone number, not both names): the
//!   store is not touched at all.
//! - One contact found: the *interaction's* user data becomes `merged_user_data` (the
//!   stored attributes the user data does not override, plus `ContactID`); the stored
//!   contact is not changed (the seed's "Speve": the user data keeps the typo, the record
//!   keeps "Steve").
//! - Stored attributes are for staff only (issue 13): the interaction record, routing,
//!   the desktop's offer and `assigned`, webhooks and the admin API carry the merged user
//!   data; the customer's own join event (its `newParty` on basic, flex and GMS, and
//!   every replay of it) carries exactly what the customer sent. Otherwise whoever types
//!   somebody's email address would be shown that person's phone number and name.
//! - Nobody found: a contact is created from the user data, and used as above.
//! - Several left after every order: none is chosen and none is created.
//! - The store fails: the chat goes on without a contact (one warning); a customer is
//!   never refused a chat because the contact base is down.
//!
//! `ContactID` is the server's to set: a customer-supplied one is removed first, so no
//! one can attach a chat to somebody else's record by naming its id.
//!
//! In a tenant that checks visitor identities (`[identity.<tenant>]`, `identity/`), the
//! identity is checked first: a verified visitor is matched by its signed identifier
//! (`parley_core::contacts::match_verified`), an unverified one is matched to no contact
//! and no contact is created for it, so a claimed email address never pulls up a stored
//! record or its history; with `required`, an unverified chat is refused.
//!
//! Once the session id is known, the front door calls [`link`] to record the interaction
//! in the contact's history.

use parley_core::contacts::{
    lookup, match_contact, match_verified, merged_user_data, verified_lookups, Contact,
    ContactAttributes, ContactId, Lookup, MatchOutcome, CONTACT_ID, MATCH_CANDIDATE_LIMIT,
};
use parley_core::{PartyType, SessionId, UserData};
use parley_store::{ContactStore, StoreError};
use tokio::sync::Mutex;
use tracing::{debug, warn};

use super::{resolve_endpoint, NewChat};
use crate::actor::CmdError;
use crate::identity::{self, Identity};
use crate::state::AppState;

/// Held while a contact is created, so two chats of one new customer starting together
/// (a double click) make one contact rather than two that would then be ambiguous
/// forever. Creation is rare (once per customer), so one lock for all is enough.
static CREATING: Mutex<()> = Mutex::const_new(());

/// Identifies the customer of a chat about to be created by a `party_type` party:
/// customers (CLIENT) only. Checks its identity (`identity::check`: refused when its
/// tenant requires a verified identity it does not have), sets `chat.contact` to the
/// contact found or created (whose attributes only the interaction, a staff view,
/// carries), and returns its id to [`link`] the session to.
pub async fn identify(
    state: &AppState,
    chat: &mut NewChat,
    party_type: PartyType,
) -> Result<Option<ContactId>, CmdError> {
    if party_type != PartyType::Client {
        return Ok(None);
    }
    let (tenant, _) = resolve_endpoint(&state.config, chat.endpoint.as_deref());
    let identity = identity::check(
        &state.config,
        &state.counters,
        &tenant,
        &mut chat.user_data,
        crate::clock::now(),
    )?;
    chat.user_data.remove(CONTACT_ID);
    chat.contact = match identity {
        Identity::NotChecked => {
            identify_with(state, &tenant, &chat.user_data, Matcher::Claims).await
        }
        Identity::Verified(identifier) => {
            let matcher = Matcher::Verified(&identifier);
            identify_with(state, &tenant, &chat.user_data, matcher).await
        }
        Identity::Unverified => None,
    };
    Ok(chat.contact.as_ref().map(|c| c.id.clone()))
}

/// What the interaction of a chat identified as `contact` carries (staff views): the
/// contact's stored attributes the customer's `user_data` does not override, the user
/// data, and `ContactID`. Without a contact, the user data as it is.
pub fn interaction_user_data(contact: Option<&Contact>, user_data: &UserData) -> UserData {
    match contact {
        Some(contact) => merged_user_data(contact, user_data),
        None => user_data.clone(),
    }
}

/// How a chat is matched: on what its user data says, or by a verified identifier.
#[derive(Clone, Copy)]
enum Matcher<'a> {
    Claims,
    Verified(&'a str),
}

/// The contact `user_data` describes in `tenant`, found or created.
async fn identify_with(
    state: &AppState,
    tenant: &str,
    user_data: &UserData,
    matcher: Matcher<'_>,
) -> Option<Contact> {
    if matches!(matcher, Matcher::Claims) {
        lookup(user_data)?;
    }
    match find_or_create(state, tenant, user_data, matcher).await {
        Ok(Some(contact)) => {
            debug!(contact = %contact.id, "chat identified as a contact");
            Some(contact)
        }
        Ok(None) => None,
        Err(e) => {
            warn!(tenant, error = %e, "contact identification failed; the chat goes on without a contact");
            None
        }
    }
}

/// The contact the user data names, created if nobody matches; `None` when ambiguous.
async fn find_or_create(
    state: &AppState,
    tenant: &str,
    user_data: &UserData,
    matcher: Matcher<'_>,
) -> Result<Option<Contact>, StoreError> {
    match decide(state, tenant, user_data, matcher).await? {
        Decision::Found(contact) => Ok(Some(contact)),
        Decision::None => Ok(None),
        Decision::Create(_) => {
            let _creating = CREATING.lock().await;
            // Another chat may have created this customer while we looked.
            match decide(state, tenant, user_data, matcher).await? {
                Decision::Found(contact) => Ok(Some(contact)),
                Decision::None => Ok(None),
                Decision::Create(attributes) => create(state, tenant, attributes).await.map(Some),
            }
        }
    }
}

/// What one lookup and match decided.
enum Decision {
    Found(Contact),
    Create(ContactAttributes),
    None,
}

async fn candidates(
    state: &AppState,
    tenant: &str,
    want: &Lookup,
) -> Result<Vec<Contact>, StoreError> {
    state
        .store
        .find_candidates(tenant, want, MATCH_CANDIDATE_LIMIT)
        .await
}

async fn decide(
    state: &AppState,
    tenant: &str,
    user_data: &UserData,
    matcher: Matcher<'_>,
) -> Result<Decision, StoreError> {
    let (found, outcome) = match matcher {
        Matcher::Claims => {
            let Some(want) = lookup(user_data) else {
                return Ok(Decision::None);
            };
            let found = candidates(state, tenant, &want).await?;
            let outcome = match_contact(tenant, user_data, &found);
            (found, outcome)
        }
        Matcher::Verified(identifier) => {
            let (by_identifier, by_claims) = verified_lookups(identifier, user_data);
            let mut found = candidates(state, tenant, &by_identifier).await?;
            if let (true, Some(by_claims)) = (found.is_empty(), by_claims) {
                found = candidates(state, tenant, &by_claims).await?;
            }
            let outcome = match_verified(tenant, identifier, user_data, &found);
            (found, outcome)
        }
    };
    Ok(match outcome {
        MatchOutcome::Matched(id) => found
            .into_iter()
            .find(|c| c.id == id)
            .map_or(Decision::None, Decision::Found),
        MatchOutcome::Create(attributes) => Decision::Create(attributes),
        MatchOutcome::Ambiguous(ids) => {
            debug!(
                tenant,
                candidates = ids.len(),
                "contact ambiguous: none chosen"
            );
            Decision::None
        }
        MatchOutcome::Unidentified => Decision::None,
    })
}

async fn create(
    state: &AppState,
    tenant: &str,
    attributes: ContactAttributes,
) -> Result<Contact, StoreError> {
    let now = crate::clock::now();
    let contact = Contact {
        id: crate::secrets::new_contact_id(),
        tenant: tenant.to_owned(),
        attributes,
        created_at: now,
        updated_at: now,
    };
    state.store.create_contact(&contact).await?;
    debug!(contact = %contact.id, "contact created");
    Ok(contact)
}

/// Links the chat to its contact: queued for the center's background writer, which
/// writes links and interaction properties together every few milliseconds, so a new
/// chat neither waits for nor pays a transaction of its own.
pub async fn link(state: &AppState, contact: Option<ContactId>, session: &SessionId) {
    if let Some(contact) = contact {
        state.center.link_contact(contact, session.clone());
    }
}
