//! Parley's persistence contract and its backends. Everything that must survive a crash
//! goes through here: sessions and their ownership (epoch + lease, for N+1 HA), transcript
//! events, and the interaction record with the final transcript and end reasons.
//!
//! Layout:
//! - `lib.rs`          the capability traits, their record types, `StoreError`, `open(url)`
//! - `any.rs`          `AnyStore`: the backend chosen at runtime from the URL scheme
//! - `codec.rs`        row <-> record conversion and the write checks both backends share
//! - `batch.rs`        a group commit in a fixed number of statements, for both backends
//! - `documents.rs`    stored files, for both backends
//! - `contacts.rs`     contacts and their interaction history (UCS's role), for both backends
//! - `interactions.rs` interaction records beyond the group commit: properties, listings
//! - `agents.rs`       the agent directory (Configuration Server's persons), for both backends
//! - `masking.rs`      masking rules stored per tenant (UCS's PII configuration), for both
//!   backends
//! - `retention/`      the retention purge and the erasure of a contact, for both backends
//! - `sqlite/`         `SqliteStore` (embedded default; WAL, `synchronous=FULL`):
//!   `mod.rs` opening and reads, `write.rs` its dialect of the batch statements,
//!   `reference.rs` the row-by-row reference commit the batch one is checked against
//! - `postgres/`       `PgStore` (shared by N+1 instances): `mod.rs` opening and reads,
//!   `write.rs` its dialect of the batch statements
//! - `conformance/`    `run_all(&store)`: the one behaviour suite every backend passes,
//!   one file per capability (ownership, writes, batches, payloads, documents,
//!   interactions, contacts, agents, retention, erasure, masking rules)
//! - `migrations/{sqlite,postgres}/NNNN_*.sql`: per-dialect schema, numbered in lockstep
//!
//! Writes are batched: the server's persistence pipeline hands [`TranscriptStore::commit`]
//! the writes of many sessions at once, and the backend applies them in one transaction,
//! so durability costs one sync per batch rather than one per message.

use std::future::Future;

use parley_core::contacts::{Contact, ContactAttributes, ContactId, Lookup};
use parley_core::routing::AgentId;
use parley_core::session::EndInfo;
use parley_core::{Event, EventId, SessionId, SessionPassword, UnixMillis, UserData};
use serde::{Deserialize, Serialize};

mod agents;
mod any;
mod batch;
mod codec;
pub mod conformance;
mod contacts;
mod documents;
mod instances;
mod interactions;
mod masking;
mod postgres;
mod retention;
mod routing;
mod sqlite;

pub use agents::{AgentRecord, AgentRole, AgentSource, MAX_AGENTS};
pub use any::{open, AnyStore};
pub use masking::{MaskingRuleRecord, MaskingRuleStore, RuleWrite, MAX_MASKING_RULES};
pub use postgres::PgStore;
pub use retention::{
    EraseRequest, Erased, ErasureRecord, PurgeKind, Purged, RetentionStore, MAX_PURGE_BATCH,
};
pub use routing::{
    BusMessage, BusWakeups, Leader, RoutingStore, BUS_CHANNEL, NEW_LEADER, ROUTING_LEASE,
};
pub use sqlite::SqliteStore;

/// A failed store operation. "Not found" and "conflict" are the caller's business;
/// `Backend` is ours (logged once, by the caller that gives up).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write names an epoch that is no longer the session's: another instance has
    /// claimed the session since. The writer must stop acting for it.
    #[error("session {0} is owned by a newer epoch")]
    Fenced(SessionId),
    /// The session does not exist.
    #[error("session {0} not found")]
    NotFound(SessionId),
    /// The session exists already (create) or is closed (append).
    #[error("conflict on session {0}: {1}")]
    Conflict(SessionId, &'static str),
    /// The URL names no backend this build has.
    #[error("unsupported store URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// The database failed (IO, connection, corrupt row).
    #[error("store backend failed: {0}")]
    Backend(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Identifies one running Parley process (random per start); owner of live sessions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstanceId(pub String);

/// Ownership generation of a session. Every claim increments it; writes carry the epoch
/// they were made under and are refused when it is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Epoch(pub i64);

/// Whether a session is going on or over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Going on.
    Alive,
    /// Over; its interaction record holds the final transcript.
    Closed,
}

/// A new session (and its interaction, which has the same id).
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Session id (= interaction id).
    pub id: SessionId,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Tenant (`[endpoints.<tenant>]`).
    pub tenant: String,
    /// Endpoint name the customer asked for.
    pub endpoint: String,
    /// Queue the endpoint maps to.
    pub queue: String,
    /// Chat subject.
    pub subject: Option<String>,
    /// Initial user data.
    pub user_data: UserData,
    /// Session password, if any.
    pub password: Option<SessionPassword>,
    /// The owning instance.
    pub owner: InstanceId,
    /// Lease end for the owner.
    pub lease_until: UnixMillis,
}

/// A session as stored: what a restoration needs.
#[derive(Debug, Clone)]
pub struct StoredSession {
    /// Session id.
    pub id: SessionId,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Tenant.
    pub tenant: String,
    /// Endpoint.
    pub endpoint: String,
    /// Queue.
    pub queue: String,
    /// Subject.
    pub subject: Option<String>,
    /// Initial user data.
    pub user_data: UserData,
    /// Password.
    pub password: Option<SessionPassword>,
    /// Going on or over.
    pub state: SessionState,
    /// Current owner.
    pub owner: InstanceId,
    /// Current epoch.
    pub epoch: Epoch,
    /// Owner's lease end.
    pub lease_until: UnixMillis,
    /// Highest event id ever allocated (transient events included).
    pub last_event_id: EventId,
    /// Kept events in id order (annihilated ones removed).
    pub events: Vec<Event>,
}

/// A file to store.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Unguessable id (the server makes it from the OS CSPRNG).
    pub id: String,
    /// The session it was sent in.
    pub session: SessionId,
    /// Name as given (text to show, never a path).
    pub name: String,
    /// Content type.
    pub mime: String,
    /// The bytes.
    pub content: Vec<u8>,
    /// When it was stored.
    pub created_at: UnixMillis,
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its id.
    pub id: String,
    /// The session it was sent in.
    pub session: SessionId,
    /// Name as given.
    pub name: String,
    /// Content type.
    pub mime: String,
    /// The bytes.
    pub content: Vec<u8>,
}

/// One write of a group-commit batch.
#[derive(Debug, Clone)]
pub enum Write {
    /// Create the session and its interaction record.
    CreateSession(NewSession),
    /// Append kept events and raise the session's high-water event id (which transient
    /// events raise too, so ids are never reused after a restoration).
    Append {
        /// Session.
        session: SessionId,
        /// Epoch the writer holds.
        epoch: Epoch,
        /// Kept events, in id order (may be empty).
        events: Vec<Event>,
        /// New high-water id.
        last_event_id: EventId,
    },
    /// Remove events from the stored transcript (annihilated read confirmations).
    Annihilate {
        /// Session.
        session: SessionId,
        /// Epoch the writer holds.
        epoch: Epoch,
        /// The events.
        ids: Vec<EventId>,
    },
    /// Merge keys into the session's and its interaction's user data (GMS `updateData`).
    UpdateUserData {
        /// Session.
        session: SessionId,
        /// Epoch the writer holds.
        epoch: Epoch,
        /// Keys to add or replace.
        user_data: UserData,
    },
    /// Close the session: mark it over, and write the final transcript and end facts to
    /// its interaction record.
    Close {
        /// Session.
        session: SessionId,
        /// Epoch the writer holds.
        epoch: Epoch,
        /// How it ended.
        end: EndInfo,
        /// The final transcript.
        transcript: Vec<Event>,
        /// Final high-water id.
        last_event_id: EventId,
    },
}

impl Write {
    /// The session the write is for.
    pub fn session(&self) -> &SessionId {
        match self {
            Write::CreateSession(s) => &s.id,
            Write::Append { session, .. }
            | Write::Annihilate { session, .. }
            | Write::UpdateUserData { session, .. }
            | Write::Close { session, .. } => session,
        }
    }
}

/// Result of trying to take over a session.
#[derive(Debug, Clone)]
pub enum Claim {
    /// Now ours, under this epoch; here is what was stored.
    Claimed(Box<StoredSession>),
    /// No such session.
    NotFound,
    /// The session is over.
    Closed,
    /// Another instance holds a lease that has not lapsed.
    Held {
        /// The holder.
        owner: InstanceId,
    },
}

/// The interaction record of a session (the contact-history entry).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InteractionRecord {
    /// Interaction id (= session id).
    pub id: SessionId,
    /// Creation time.
    pub created_at: UnixMillis,
    /// Tenant.
    pub tenant: String,
    /// Endpoint.
    pub endpoint: String,
    /// Queue.
    pub queue: String,
    /// Subject.
    pub subject: Option<String>,
    /// User data.
    pub user_data: UserData,
    /// Going on or over.
    pub state: SessionState,
    /// How it ended, once it has.
    pub end: Option<EndInfo>,
    /// The final transcript, once it has ended.
    pub transcript: Option<Vec<Event>>,
    /// Interaction properties (Interaction Server's attached data that is not the
    /// customer's user data: routing state, ESP `UpdateProperties`, ...).
    pub properties: UserData,
    /// When the retention purge removed the transcript (`transcript` is `None` since).
    pub transcript_purged_at: Option<UnixMillis>,
    /// When the retention purge removed the files sent in the chat.
    pub files_purged_at: Option<UnixMillis>,
}

/// Transcript and session ownership.
pub trait TranscriptStore: Send + Sync {
    /// Applies a batch of writes in one transaction (group commit). The outer error means
    /// nothing was applied; otherwise each write has its own outcome, in order (a fenced
    /// or conflicting write fails alone, the others are applied).
    fn commit(
        &self,
        batch: &[Write],
    ) -> impl Future<Output = Result<Vec<Result<(), StoreError>>, StoreError>> + Send;

    /// Reads a session with its kept events.
    fn load_session(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<StoredSession>, StoreError>> + Send;

    /// The kept events of a session with ids in `(after, upto]`, in id order: the part of
    /// a live transcript that has left the owner's memory (a resume or refresh from far
    /// back, the final transcript).
    fn events_between(
        &self,
        id: &SessionId,
        after: EventId,
        upto: EventId,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    /// Takes over a live session: when its lease has lapsed, or `force` (a single-node
    /// store, where any other owner is a previous life of this process), sets the owner,
    /// a new lease and epoch + 1, and returns the stored session.
    fn claim_session(
        &self,
        id: &SessionId,
        owner: &InstanceId,
        now: UnixMillis,
        lease_until: UnixMillis,
        force: bool,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Takes over, in one transaction, those of `ids` that are orphans at `now` (alive,
    /// held by another owner whose lease has lapsed, or by any other owner when
    /// `any_other_owner`), each as [`TranscriptStore::claim_session`] does: owner `me`,
    /// lease to `lease_until`, epoch + 1. Sessions that are not orphans (held, closed,
    /// already `me`'s, unknown) and, on a shared store, those a concurrent claim holds
    /// locked are left alone. Returns the claimed sessions with their events, in id order.
    fn claim_orphans(
        &self,
        ids: &[SessionId],
        me: &InstanceId,
        now: UnixMillis,
        lease_until: UnixMillis,
        any_other_owner: bool,
    ) -> impl Future<Output = Result<Vec<StoredSession>, StoreError>> + Send;

    /// Extends the lease of every live session `owner` holds; returns how many.
    fn renew_leases(
        &self,
        owner: &InstanceId,
        lease_until: UnixMillis,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Ends `owner`'s leases now (graceful shutdown), so another instance may restore its
    /// sessions at once; returns how many.
    fn release_leases(
        &self,
        owner: &InstanceId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Live sessions that no live instance holds, for `me` to claim: held by another
    /// owner whose lease has lapsed at `now` (it died, or released them at shutdown), or
    /// by any other owner when `any_other_owner` (a single-node store, where any other
    /// owner is a previous life of this process). In id order after `after`, at most
    /// `limit`, so a caller pages through them.
    fn orphaned_sessions(
        &self,
        me: &InstanceId,
        now: UnixMillis,
        any_other_owner: bool,
        after: Option<&SessionId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<SessionId>, StoreError>> + Send;
}

/// Interaction records.
pub trait InteractionStore: Send + Sync {
    /// The interaction record of a session.
    fn interaction(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<InteractionRecord>, StoreError>> + Send;

    /// Merges `set` into the interaction's properties (keys added or replaced, others
    /// kept), committed before it returns; false when there is no such interaction.
    fn update_interaction_properties(
        &self,
        id: &SessionId,
        set: &UserData,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// [`InteractionStore::update_interaction_properties`] for many interactions in one
    /// transaction (one sync for a burst of routing changes); returns how many existed.
    fn update_interactions_properties(
        &self,
        updates: &[(SessionId, UserData)],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Interaction records matching `filter`, newest first (creation time, then id
    /// descending), at most `filter.limit` (cut to [`MAX_PAGE`]).
    fn list_interactions(
        &self,
        filter: &InteractionFilter,
    ) -> impl Future<Output = Result<Vec<InteractionRecord>, StoreError>> + Send;
}

/// Which interaction records [`InteractionStore::list_interactions`] returns; every
/// `None` matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionFilter {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only those submitted to this queue.
    pub queue: Option<String>,
    /// Only those going on, or only those over.
    pub state: Option<SessionState>,
    /// Only those created at or after this time.
    pub since: Option<UnixMillis>,
    /// Only those listed after this one (its `created_at` and id) in the listing's order,
    /// newest first: the next page.
    pub before: Option<(UnixMillis, SessionId)>,
    /// At most this many (cut to [`MAX_PAGE`]).
    pub limit: u32,
}

impl Default for InteractionFilter {
    /// Everything, one default page (100).
    fn default() -> InteractionFilter {
        InteractionFilter {
            tenant: None,
            queue: None,
            state: None,
            since: None,
            before: None,
            limit: 100,
        }
    }
}

/// Files sent in sessions.
pub trait DocumentStore: Send + Sync {
    /// Stores a file (committed before it returns).
    fn put_document(
        &self,
        doc: &NewDocument,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads a file.
    fn get_document(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Document>, StoreError>> + Send;
    /// Removes a file; true when it existed.
    fn delete_document(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The most rows one contact search or history page returns; larger limits are cut.
pub const MAX_PAGE: u32 = 500;

/// Contacts and their interaction history (Genesys UCS's role). Lookups compare the
/// normalised values of `parley_core::contacts` (`normalize_email`, ...), which the store
/// keeps in indexed columns; lists are bounded by their limit and by [`MAX_PAGE`].
pub trait ContactStore: Send + Sync {
    /// Stores a new contact (committed before it returns); an id in use is an error.
    fn create_contact(
        &self,
        contact: &Contact,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A contact by id.
    fn contact(
        &self,
        id: &ContactId,
    ) -> impl Future<Output = Result<Option<Contact>, StoreError>> + Send;

    /// The tenant's contacts whose email address normalises as `email` does, oldest
    /// first.
    fn find_by_email(
        &self,
        tenant: &str,
        email: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Contact>, StoreError>> + Send;

    /// The tenant's contacts whose phone number normalises as `phone` does, oldest first.
    fn find_by_phone(
        &self,
        tenant: &str,
        phone: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Contact>, StoreError>> + Send;

    /// The tenant's contacts with this first name and this last name (normalised), oldest
    /// first. Names identify only as a pair (issue 13): a blank part matches nobody, so
    /// there is no lookup by one name alone.
    fn find_by_name(
        &self,
        tenant: &str,
        first: &str,
        last: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Contact>, StoreError>> + Send;

    /// The tenant's contacts whose `Identifier` attribute is exactly `identifier`
    /// (trimmed), oldest first.
    fn find_by_identifier(
        &self,
        tenant: &str,
        identifier: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Contact>, StoreError>> + Send;

    /// The candidates `parley_core::contacts::match_contact` (or `match_verified`) needs
    /// for `lookup`.
    fn find_candidates(
        &self,
        tenant: &str,
        lookup: &Lookup,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Contact>, StoreError>> + Send {
        async move {
            match lookup {
                Lookup::Email(email) => self.find_by_email(tenant, email, limit).await,
                Lookup::Phone(phone) => self.find_by_phone(tenant, phone, limit).await,
                Lookup::Name { first, last } => self.find_by_name(tenant, first, last, limit).await,
                Lookup::Identifier(identifier) => {
                    self.find_by_identifier(tenant, identifier, limit).await
                }
            }
        }
    }

    /// Replaces a contact's attributes (and the lookup columns derived from them);
    /// false when there is no such contact.
    fn update_contact_attributes(
        &self,
        id: &ContactId,
        attributes: &ContactAttributes,
        now: UnixMillis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records that a session's interaction is the contact's. An interaction belongs to
    /// one contact: linking it again moves it. False when there is no such contact.
    fn link_interaction(
        &self,
        contact: &ContactId,
        session: &SessionId,
        now: UnixMillis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// [`ContactStore::link_interaction`] for many interactions in one transaction;
    /// returns how many links were written (a vanished contact's are skipped).
    fn link_interactions(
        &self,
        links: &[(ContactId, SessionId, UnixMillis)],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// The contact an interaction is linked to ([`ContactStore::link_interaction`]).
    fn interaction_contact(
        &self,
        session: &SessionId,
    ) -> impl Future<Output = Result<Option<ContactId>, StoreError>> + Send;

    /// Contacts (of `tenant`, or of every tenant) whose email address, phone number, name
    /// ("first last") contains `query`, or whose id or `Identifier` is `query`; compared as normalised
    /// (so case-insensitively), `%` and `_` meaning themselves. Newest first; an empty
    /// query lists every contact.
    fn search_contacts(
        &self,
        tenant: Option<&str>,
        query: &str,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Contact>, StoreError>> + Send;

    /// The contact's interactions that have a record, newest first, with their final
    /// transcripts once they ended.
    fn contact_history(
        &self,
        id: &ContactId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<InteractionRecord>, StoreError>> + Send;
}

/// The agent directory: who may log in to the desktop (Configuration Server's persons).
pub trait AgentStore: Send + Sync {
    /// Creates or replaces an agent by login (committed before it returns); a replaced
    /// row keeps its `created_at`.
    fn upsert_agent(
        &self,
        agent: &AgentRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// An agent by login.
    fn agent(
        &self,
        login: &AgentId,
    ) -> impl Future<Output = Result<Option<AgentRecord>, StoreError>> + Send;

    /// Every agent, by login, at most [`MAX_AGENTS`].
    fn list_agents(&self) -> impl Future<Output = Result<Vec<AgentRecord>, StoreError>> + Send;

    /// Removes an agent; true when it existed.
    fn delete_agent(
        &self,
        login: &AgentId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Keeps a desktop login token, by the hex SHA-256 digest of the token (never the
    /// token), so that every instance honours it until `expires_at`. Expired tokens are
    /// forgotten in the same call.
    fn insert_agent_token(
        &self,
        digest: &str,
        login: &AgentId,
        expires_at: UnixMillis,
        now: UnixMillis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The agent and expiry of a token digest that has not expired at `now`.
    fn agent_token(
        &self,
        digest: &str,
        now: UnixMillis,
    ) -> impl Future<Output = Result<Option<(AgentId, UnixMillis)>, StoreError>> + Send;

    /// Forgets one token; true when it was kept.
    fn delete_agent_token(
        &self,
        digest: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets every token of an agent (new password, agent removed); how many.
    fn delete_agent_tokens(
        &self,
        login: &AgentId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The cluster: where each live instance is reached by its peers, and the secret they
/// sign forwarded requests with.
pub trait ClusterStore: Send + Sync {
    /// Registers (or renews) instance `id`, reached at `url`, live until `lease_until`;
    /// rows of instances long dead are forgotten in the same call.
    fn register_instance(
        &self,
        id: &InstanceId,
        url: &str,
        now: UnixMillis,
        lease_until: UnixMillis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The URL of instance `id` if its lease holds at `now`.
    fn instance_url(
        &self,
        id: &InstanceId,
        now: UnixMillis,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Forgets instance `id` (graceful shutdown); true when it was registered.
    fn remove_instance(
        &self,
        id: &InstanceId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The owner of live session `id` while its lease holds at `now` (without claiming
    /// it: for an instance that may not restore sessions but may forward to the owner).
    fn session_holder(
        &self,
        id: &SessionId,
        now: UnixMillis,
    ) -> impl Future<Output = Result<Option<InstanceId>, StoreError>> + Send;

    /// The cluster secret: `candidate` if none was stored yet (it is stored then), else
    /// the stored one. Every instance gets the same answer.
    fn cluster_secret(
        &self,
        candidate: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}

/// Liveness of the backend.
pub trait HealthStore: Send + Sync {
    /// A round trip to the database (for `/readyz`).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether this backend serves one instance only (SQLite): then a session owned by
    /// another instance id is a previous life of this process and may be claimed at once.
    fn single_node(&self) -> bool;
}

/// Everything a Parley server needs from its store.
pub trait Store:
    TranscriptStore
    + InteractionStore
    + DocumentStore
    + ContactStore
    + AgentStore
    + ClusterStore
    + HealthStore
    + RoutingStore
    + RetentionStore
    + MaskingRuleStore
    + Clone
    + 'static
{
}
impl<T> Store for T where
    T: TranscriptStore
        + InteractionStore
        + DocumentStore
        + ContactStore
        + AgentStore
        + ClusterStore
        + HealthStore
        + RoutingStore
        + RetentionStore
        + MaskingRuleStore
        + Clone
        + 'static
{
}
