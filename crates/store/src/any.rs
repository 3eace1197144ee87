//! `AnyStore`: the backend chosen at run time from the store URL, so the server holds
//! one concrete type (the traits use `impl Future` returns and are not object-safe) and
//! the choice costs a `match`, not a box per call.

use parley_core::contacts::{Contact, ContactAttributes, ContactId};
use parley_core::routing::AgentId;
use parley_core::{Event, EventId, SessionId, UnixMillis, UserData};

use crate::{
    AgentRecord, AgentStore, BusMessage, BusWakeups, Claim, ClusterStore, ContactStore, Document,
    DocumentStore, Epoch, HealthStore, InstanceId, InteractionFilter, InteractionRecord,
    InteractionStore, Leader, NewDocument, PgStore, RoutingStore, SqliteStore, StoreError,
    StoredSession, TranscriptStore, Write,
};
use crate::{EraseRequest, Erased, ErasureRecord, PurgeKind, Purged, RetentionStore};

/// The store of a running server: one of the backends, by URL scheme.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// `sqlite://PATH` or `sqlite:PATH`.
    Sqlite(SqliteStore),
    /// `postgres://...` or `postgresql://...`.
    Postgres(PgStore),
}

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Sqlite,
    Postgres,
}

/// The backend of `url`, by its scheme (case-insensitively, as URLs have it).
fn scheme(url: &str) -> Option<Scheme> {
    let name = url.split_once(':')?.0.to_ascii_lowercase();
    match name.as_str() {
        "sqlite" => Some(Scheme::Sqlite),
        "postgres" | "postgresql" if url[name.len() + 1..].starts_with("//") => {
            Some(Scheme::Postgres)
        }
        _ => None,
    }
}

/// `url` without the `user:password@` part, for an error message that may be logged.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Opens the store a URL names and migrates it to the latest schema: `sqlite://PATH` or
/// `sqlite:PATH` (the file is created if missing; `sqlite:///abs/path` for an absolute
/// path), `postgres://...` or `postgresql://...`.
pub async fn open(url: &str) -> Result<AnyStore, StoreError> {
    match scheme(url) {
        Some(Scheme::Sqlite) => {
            // sqlx parses the lowercase scheme only.
            let path = url.split_once(':').map_or("", |(_, p)| p);
            Ok(AnyStore::Sqlite(
                SqliteStore::open(&format!("sqlite:{path}")).await?,
            ))
        }
        Some(Scheme::Postgres) => Ok(AnyStore::Postgres(PgStore::open(url).await?)),
        None => Err(StoreError::UnsupportedUrl(redacted(url))),
    }
}

impl AnyStore {
    /// Closes the backend's connections, waiting for work in flight (graceful shutdown).
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

impl TranscriptStore for AnyStore {
    async fn commit(&self, batch: &[Write]) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.commit(batch).await,
            AnyStore::Postgres(s) => s.commit(batch).await,
        }
    }

    async fn load_session(&self, id: &SessionId) -> Result<Option<StoredSession>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.load_session(id).await,
            AnyStore::Postgres(s) => s.load_session(id).await,
        }
    }

    async fn events_between(
        &self,
        id: &SessionId,
        after: EventId,
        upto: EventId,
    ) -> Result<Vec<Event>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.events_between(id, after, upto).await,
            AnyStore::Postgres(s) => s.events_between(id, after, upto).await,
        }
    }

    async fn claim_session(
        &self,
        id: &SessionId,
        owner: &InstanceId,
        now: UnixMillis,
        lease_until: UnixMillis,
        force: bool,
    ) -> Result<Claim, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.claim_session(id, owner, now, lease_until, force).await,
            AnyStore::Postgres(s) => s.claim_session(id, owner, now, lease_until, force).await,
        }
    }

    async fn claim_orphans(
        &self,
        ids: &[SessionId],
        me: &InstanceId,
        now: UnixMillis,
        lease_until: UnixMillis,
        any_other_owner: bool,
    ) -> Result<Vec<StoredSession>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => {
                s.claim_orphans(ids, me, now, lease_until, any_other_owner)
                    .await
            }
            AnyStore::Postgres(s) => {
                s.claim_orphans(ids, me, now, lease_until, any_other_owner)
                    .await
            }
        }
    }

    async fn renew_leases(
        &self,
        owner: &InstanceId,
        lease_until: UnixMillis,
    ) -> Result<u64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.renew_leases(owner, lease_until).await,
            AnyStore::Postgres(s) => s.renew_leases(owner, lease_until).await,
        }
    }

    async fn release_leases(&self, owner: &InstanceId) -> Result<u64, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.release_leases(owner).await,
            AnyStore::Postgres(s) => s.release_leases(owner).await,
        }
    }

    async fn orphaned_sessions(
        &self,
        me: &InstanceId,
        now: UnixMillis,
        any_other_owner: bool,
        after: Option<&SessionId>,
        limit: u32,
    ) -> Result<Vec<SessionId>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => {
                s.orphaned_sessions(me, now, any_other_owner, after, limit)
                    .await
            }
            AnyStore::Postgres(s) => {
                s.orphaned_sessions(me, now, any_other_owner, after, limit)
                    .await
            }
        }
    }
}

impl InteractionStore for AnyStore {
    async fn interaction(&self, id: &SessionId) -> Result<Option<InteractionRecord>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.interaction(id).await,
            AnyStore::Postgres(s) => s.interaction(id).await,
        }
    }

    async fn update_interaction_properties(
        &self,
        id: &SessionId,
        set: &UserData,
    ) -> Result<bool, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.update_interaction_properties(id, set).await,
            AnyStore::Postgres(s) => s.update_interaction_properties(id, set).await,
        }
    }

    async fn update_interactions_properties(
        &self,
        updates: &[(SessionId, UserData)],
    ) -> Result<usize, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.update_interactions_properties(updates).await,
            AnyStore::Postgres(s) => s.update_interactions_properties(updates).await,
        }
    }

    async fn list_interactions(
        &self,
        filter: &InteractionFilter,
    ) -> Result<Vec<InteractionRecord>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.list_interactions(filter).await,
            AnyStore::Postgres(s) => s.list_interactions(filter).await,
        }
    }
}

impl DocumentStore for AnyStore {
    async fn put_document(&self, doc: &NewDocument) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.put_document(doc).await,
            AnyStore::Postgres(s) => s.put_document(doc).await,
        }
    }

    async fn get_document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.get_document(id).await,
            AnyStore::Postgres(s) => s.get_document(id).await,
        }
    }

    async fn delete_document(&self, id: &str) -> Result<bool, StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.delete_document(id).await,
            AnyStore::Postgres(s) => s.delete_document(id).await,
        }
    }
}

/// Delegates a call to the backend.
macro_rules! delegate {
    ($self:ident.$method:ident($($arg:expr),*)) => {
        match $self {
            AnyStore::Sqlite(s) => s.$method($($arg),*).await,
            AnyStore::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl ContactStore for AnyStore {
    async fn create_contact(&self, contact: &Contact) -> Result<(), StoreError> {
        delegate!(self.create_contact(contact))
    }

    async fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        delegate!(self.contact(id))
    }

    async fn find_by_email(
        &self,
        tenant: &str,
        email: &str,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError> {
        delegate!(self.find_by_email(tenant, email, limit))
    }

    async fn find_by_phone(
        &self,
        tenant: &str,
        phone: &str,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError> {
        delegate!(self.find_by_phone(tenant, phone, limit))
    }

    async fn find_by_name(
        &self,
        tenant: &str,
        first: &str,
        last: &str,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError> {
        delegate!(self.find_by_name(tenant, first, last, limit))
    }

    async fn find_by_identifier(
        &self,
        tenant: &str,
        identifier: &str,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError> {
        delegate!(self.find_by_identifier(tenant, identifier, limit))
    }

    async fn update_contact_attributes(
        &self,
        id: &ContactId,
        attributes: &ContactAttributes,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        delegate!(self.update_contact_attributes(id, attributes, now))
    }

    async fn link_interaction(
        &self,
        contact: &ContactId,
        session: &SessionId,
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        delegate!(self.link_interaction(contact, session, now))
    }

    async fn link_interactions(
        &self,
        links: &[(ContactId, SessionId, UnixMillis)],
    ) -> Result<usize, StoreError> {
        delegate!(self.link_interactions(links))
    }

    async fn interaction_contact(
        &self,
        session: &SessionId,
    ) -> Result<Option<ContactId>, StoreError> {
        delegate!(self.interaction_contact(session))
    }

    async fn search_contacts(
        &self,
        tenant: Option<&str>,
        query: &str,
        limit: u32,
    ) -> Result<Vec<Contact>, StoreError> {
        delegate!(self.search_contacts(tenant, query, limit))
    }

    async fn contact_history(
        &self,
        id: &ContactId,
        limit: u32,
    ) -> Result<Vec<InteractionRecord>, StoreError> {
        delegate!(self.contact_history(id, limit))
    }
}

impl AgentStore for AnyStore {
    async fn upsert_agent(&self, agent: &AgentRecord) -> Result<(), StoreError> {
        delegate!(self.upsert_agent(agent))
    }

    async fn agent(&self, login: &AgentId) -> Result<Option<AgentRecord>, StoreError> {
        delegate!(self.agent(login))
    }

    async fn list_agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        delegate!(self.list_agents())
    }

    async fn delete_agent(&self, login: &AgentId) -> Result<bool, StoreError> {
        delegate!(self.delete_agent(login))
    }

    async fn insert_agent_token(
        &self,
        digest: &str,
        login: &AgentId,
        expires_at: UnixMillis,
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        delegate!(self.insert_agent_token(digest, login, expires_at, now))
    }

    async fn agent_token(
        &self,
        digest: &str,
        now: UnixMillis,
    ) -> Result<Option<(AgentId, UnixMillis)>, StoreError> {
        delegate!(self.agent_token(digest, now))
    }

    async fn delete_agent_token(&self, digest: &str) -> Result<bool, StoreError> {
        delegate!(self.delete_agent_token(digest))
    }

    async fn delete_agent_tokens(&self, login: &AgentId) -> Result<u64, StoreError> {
        delegate!(self.delete_agent_tokens(login))
    }
}

impl ClusterStore for AnyStore {
    async fn register_instance(
        &self,
        id: &InstanceId,
        url: &str,
        now: UnixMillis,
        lease_until: UnixMillis,
    ) -> Result<(), StoreError> {
        delegate!(self.register_instance(id, url, now, lease_until))
    }

    async fn instance_url(
        &self,
        id: &InstanceId,
        now: UnixMillis,
    ) -> Result<Option<String>, StoreError> {
        delegate!(self.instance_url(id, now))
    }

    async fn remove_instance(&self, id: &InstanceId) -> Result<bool, StoreError> {
        delegate!(self.remove_instance(id))
    }

    async fn session_holder(
        &self,
        id: &SessionId,
        now: UnixMillis,
    ) -> Result<Option<InstanceId>, StoreError> {
        delegate!(self.session_holder(id, now))
    }

    async fn cluster_secret(&self, candidate: &str) -> Result<String, StoreError> {
        delegate!(self.cluster_secret(candidate))
    }
}

impl AnyStore {
    /// Bus notifications (PostgreSQL); `None` on SQLite, where one instance routes for
    /// itself and nothing crosses a bus.
    pub async fn bus_wakeups(&self) -> Option<Result<BusWakeups, StoreError>> {
        match self {
            AnyStore::Sqlite(_) => None,
            AnyStore::Postgres(s) => Some(s.bus_wakeups().await),
        }
    }
}

impl RoutingStore for AnyStore {
    async fn lead(
        &self,
        name: &str,
        me: &InstanceId,
        now: UnixMillis,
        lease_until: UnixMillis,
    ) -> Result<Leader, StoreError> {
        delegate!(self.lead(name, me, now, lease_until))
    }

    async fn resign(&self, name: &str, me: &InstanceId) -> Result<(), StoreError> {
        delegate!(self.resign(name, me))
    }

    async fn bus_post(
        &self,
        messages: &[(String, Epoch, String)],
        now: UnixMillis,
    ) -> Result<(), StoreError> {
        delegate!(self.bus_post(messages, now))
    }

    async fn bus_take(
        &self,
        target: &str,
        fence: Option<(&str, &InstanceId, Epoch)>,
        limit: u32,
    ) -> Result<Vec<BusMessage>, StoreError> {
        delegate!(self.bus_take(target, fence, limit))
    }

    async fn bus_purge(&self, before: UnixMillis) -> Result<u64, StoreError> {
        delegate!(self.bus_purge(before))
    }

    async fn session_owner(
        &self,
        id: &SessionId,
    ) -> Result<Option<(InstanceId, UnixMillis)>, StoreError> {
        delegate!(self.session_owner(id))
    }
}

impl RetentionStore for AnyStore {
    async fn interaction_tenants(&self) -> Result<Vec<String>, StoreError> {
        delegate!(self.interaction_tenants())
    }

    async fn purge(
        &self,
        kind: PurgeKind,
        tenant: &str,
        closed_before: UnixMillis,
        limit: u32,
        now: UnixMillis,
    ) -> Result<Purged, StoreError> {
        delegate!(self.purge(kind, tenant, closed_before, limit, now))
    }

    async fn erase_contact(&self, request: &EraseRequest) -> Result<Erased, StoreError> {
        delegate!(self.erase_contact(request))
    }

    async fn erasure(&self, contact: &ContactId) -> Result<Option<ErasureRecord>, StoreError> {
        delegate!(self.erasure(contact))
    }

    async fn list_erasures(
        &self,
        tenant: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ErasureRecord>, StoreError> {
        delegate!(self.list_erasures(tenant, limit))
    }
}

impl HealthStore for AnyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        match self {
            AnyStore::Sqlite(s) => s.ping().await,
            AnyStore::Postgres(s) => s.ping().await,
        }
    }

    fn single_node(&self) -> bool {
        match self {
            AnyStore::Sqlite(s) => s.single_node(),
            AnyStore::Postgres(s) => s.single_node(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_pick_backends() {
        assert_eq!(scheme("sqlite://data/p.db"), Some(Scheme::Sqlite));
        assert_eq!(scheme("sqlite:p.db"), Some(Scheme::Sqlite));
        assert_eq!(scheme("SQLite:///abs/p.db"), Some(Scheme::Sqlite));
        assert_eq!(scheme("postgres://u@h/db"), Some(Scheme::Postgres));
        assert_eq!(scheme("postgresql://h/db"), Some(Scheme::Postgres));
        assert_eq!(scheme("postgres:h/db"), None);
        assert_eq!(scheme("mysql://h/db"), None);
        assert_eq!(scheme("parley.db"), None);
        assert_eq!(scheme(""), None);
    }

    #[test]
    fn unsupported_urls_hide_credentials() {
        assert_eq!(
            redacted("mysql://u:secret@h:3306/db"),
            "mysql://***@h:3306/db"
        );
        assert_eq!(redacted("mysql://h/db@x"), "mysql://h/db@x");
        assert_eq!(redacted("parley.db"), "parley.db");
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused_with_the_supported_ones_named() {
        let err = open("mysql://u:pw@localhost/parley").await.err();
        let Some(StoreError::UnsupportedUrl(url)) = &err else {
            panic!("expected UnsupportedUrl, got {err:?}");
        };
        assert_eq!(url, "mysql://***@localhost/parley");
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("sqlite://PATH") && message.contains("postgres://"));
    }
}
