//! Retention and erasure, on both backends (docs/security.md, "Retention and erasure").
//!
//! - The retention purge removes, tenant by tenant, what the operator keeps for a while
//!   only: the transcripts, the files, or the whole records of interactions closed before a
//!   cutoff. It works in small batches (one transaction each, oldest close first) taken
//!   from the head of a partial index that holds only what is still to purge, so a batch
//!   never scans what earlier ones handled, and a live chat is never touched.
//! - Erasure removes one contact with every interaction linked to it (records, transcript
//!   events, files, session rows, links) in one transaction, and leaves an audit record
//!   that holds counts, never personal data.
//!
//! Layout: `mod.rs` the records, the trait and each dialect's statements; `purge.rs` a
//! purge batch; `erase.rs` an erasure and the audit records. The statements differ only
//! in how a list of ids is bound (a JSON array: `json_each` on SQLite,
//! `json_array_elements_text` on PostgreSQL) and in PostgreSQL's row locks, which let
//! instances purging at once take different batches (`SKIP LOCKED`) and serialise
//! erasures of one contact.

mod erase;
mod purge;

use std::future::Future;

use parley_core::contacts::ContactId;
use parley_core::{SessionId, UnixMillis};

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::StoreError;

/// The most interactions one purge batch takes; larger limits are cut.
pub const MAX_PURGE_BATCH: u32 = 500;

/// What a retention purge removes from closed interactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PurgeKind {
    /// The transcript: the session's event rows and the record's final transcript. The
    /// record stays, with `transcript_purged_at` set.
    Transcripts,
    /// The files sent in the chat. The record stays, with `files_purged_at` set.
    Files,
    /// The whole interaction: its record, transcript, files, session row and contact link.
    Interactions,
}

impl PurgeKind {
    /// Every kind, in the order a purge pass runs them (whole records first: what they
    /// remove, the other two need not).
    pub const ALL: [PurgeKind; 3] = [
        PurgeKind::Interactions,
        PurgeKind::Transcripts,
        PurgeKind::Files,
    ];

    /// `transcripts`, `files` or `interactions` (the option names of `[retention]`).
    pub fn as_str(self) -> &'static str {
        match self {
            PurgeKind::Transcripts => "transcripts",
            PurgeKind::Files => "files",
            PurgeKind::Interactions => "interactions",
        }
    }
}

/// What one purge batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Interactions the batch handled: whose transcript or files it removed, or which it
    /// removed. A batch that handled fewer than its limit found nothing more to do.
    pub interactions: u64,
    /// Transcript event rows removed.
    pub events: u64,
    /// Files removed.
    pub files: u64,
    /// Bytes of the files removed.
    pub file_bytes: u64,
}

/// An erasure to carry out.
#[derive(Debug, Clone)]
pub struct EraseRequest {
    /// The contact to erase.
    pub contact: ContactId,
    /// Who asks (the fingerprint of the admin key): kept in the audit record.
    pub by: String,
    /// The caller's reference (a ticket number), kept in the audit record.
    pub reference: Option<String>,
    /// When.
    pub at: UnixMillis,
}

/// The audit record of an erased contact: counts, never what was erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureRecord {
    /// The contact that was erased.
    pub contact: ContactId,
    /// Its tenant.
    pub tenant: String,
    /// When.
    pub erased_at: UnixMillis,
    /// Who asked ([`EraseRequest::by`]).
    pub erased_by: String,
    /// The caller's reference.
    pub reference: Option<String>,
    /// Interaction records removed.
    pub interactions: u64,
    /// Transcript event rows removed.
    pub events: u64,
    /// Files removed.
    pub files: u64,
    /// Bytes of the files removed.
    pub file_bytes: u64,
}

/// The outcome of [`RetentionStore::erase_contact`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erased {
    /// Erased now; the audit record written.
    Erased(ErasureRecord),
    /// Erased before: the audit record of then. Nothing changed.
    AlreadyErased(ErasureRecord),
    /// No such contact, and none was ever erased.
    NotFound,
    /// These interactions of the contact are going on: nothing was erased.
    Live(Vec<SessionId>),
}

/// Retention purges and erasures.
pub trait RetentionStore: Send + Sync {
    /// Every tenant that has interaction records, in order (an index walk: one probe per
    /// tenant, not a scan).
    fn interaction_tenants(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// One purge batch in one transaction: removes `kind` from at most `limit` (1 to
    /// [`MAX_PURGE_BATCH`]) of `tenant`'s interactions closed before `closed_before`, the
    /// oldest closes first, marking them purged at `now`. Interactions that are not closed
    /// are never touched. Interactions a concurrent batch holds (another instance on a
    /// shared store) are skipped, so instances purging at once share the work.
    fn purge(
        &self,
        kind: PurgeKind,
        tenant: &str,
        closed_before: UnixMillis,
        limit: u32,
        now: UnixMillis,
    ) -> impl Future<Output = Result<Purged, StoreError>> + Send;

    /// Erases a contact in one transaction: every interaction linked to it (record,
    /// session row, transcript events, files, link), then the contact, and writes the
    /// audit record. Refused, with nothing changed, while one of its interactions is
    /// going on. Erasing an erased contact changes nothing and answers its audit record.
    fn erase_contact(
        &self,
        request: &EraseRequest,
    ) -> impl Future<Output = Result<Erased, StoreError>> + Send;

    /// The audit record of an erased contact.
    fn erasure(
        &self,
        contact: &ContactId,
    ) -> impl Future<Output = Result<Option<ErasureRecord>, StoreError>> + Send;

    /// Audit records (of `tenant`, or of every tenant), newest first, at most `limit`
    /// (cut to [`crate::MAX_PAGE`]).
    fn list_erasures(
        &self,
        tenant: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ErasureRecord>, StoreError>> + Send;
}

/// The statements of one dialect.
struct Sql {
    /// The next batch of each kind: `$1` tenant, `$2` closed before, `$3` limit.
    due_records: &'static str,
    due_transcripts: &'static str,
    due_files: &'static str,
    /// The rest take the JSON array of ids as `$1`.
    delete_events: &'static str,
    /// Returns the size of each file removed.
    delete_documents: &'static str,
    delete_links: &'static str,
    delete_sessions: &'static str,
    delete_interactions: &'static str,
    /// `$2` now.
    mark_transcripts: &'static str,
    mark_files: &'static str,
    /// The ids of the list whose session or record is alive.
    live: &'static str,
    /// The tenant of contact `$1`, locking its row where the dialect can.
    lock_contact: &'static str,
}

/// The statements, given the dialect's test of a column against the id list `$1` (which
/// follows the column) and its locks for a batch and for a contact.
macro_rules! sql {
    ($ids:literal, $lock:literal, $lock_contact:literal) => {
        Sql {
            due_records: concat!(
                "SELECT id FROM interactions WHERE state = 'closed' AND tenant = $1 ",
                "AND closed_at < $2 ORDER BY tenant, closed_at, id LIMIT $3",
                $lock
            ),
            due_transcripts: concat!(
                "SELECT id FROM interactions WHERE state = 'closed' ",
                "AND transcript_purged_at IS NULL AND tenant = $1 ",
                "AND closed_at < $2 ORDER BY tenant, closed_at, id LIMIT $3",
                $lock
            ),
            due_files: concat!(
                "SELECT id FROM interactions WHERE state = 'closed' ",
                "AND files_purged_at IS NULL AND tenant = $1 ",
                "AND closed_at < $2 ORDER BY tenant, closed_at, id LIMIT $3",
                $lock
            ),
            delete_events: concat!("DELETE FROM events WHERE session_id", $ids),
            delete_documents: concat!(
                "DELETE FROM documents WHERE session_id",
                $ids,
                " RETURNING size"
            ),
            delete_links: concat!("DELETE FROM contact_interactions WHERE session_id", $ids),
            delete_sessions: concat!("DELETE FROM sessions WHERE state = 'closed' AND id", $ids),
            delete_interactions: concat!(
                "DELETE FROM interactions WHERE state = 'closed' AND id",
                $ids
            ),
            mark_transcripts: concat!(
                "UPDATE interactions SET transcript = NULL, transcript_purged_at = $2 ",
                "WHERE id",
                $ids
            ),
            mark_files: concat!(
                "UPDATE interactions SET files_purged_at = $2 WHERE id",
                $ids
            ),
            live: concat!(
                "SELECT id FROM sessions WHERE state = 'alive' AND id",
                $ids,
                " UNION SELECT id FROM interactions WHERE state = 'alive' AND id",
                $ids,
                " ORDER BY 1"
            ),
            lock_contact: concat!("SELECT tenant FROM contacts WHERE id = $1", $lock_contact),
        }
    };
}

const SQLITE: Sql = sql!(" IN (SELECT value FROM json_each($1))", "", "");

/// `= ANY(ARRAY(...))` makes the list one value, so each statement is an index probe per
/// id whatever the planner guesses of the list's length.
const POSTGRES: Sql = sql!(
    " = ANY(ARRAY(SELECT json_array_elements_text($1::json)))",
    " FOR UPDATE SKIP LOCKED",
    " FOR UPDATE"
);

/// The tenants that have interaction records: a loose index scan of
/// `interactions_tenant_created` (each step the next tenant after the last), the same in
/// both dialects.
const TENANTS: &str = "WITH RECURSIVE t(tenant) AS (\
     SELECT MIN(tenant) FROM interactions \
     UNION ALL \
     SELECT (SELECT MIN(tenant) FROM interactions WHERE tenant > t.tenant) \
     FROM t WHERE t.tenant IS NOT NULL) \
     SELECT tenant FROM t WHERE tenant IS NOT NULL";

/// A count read back from the database.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

macro_rules! retention_store {
    ($store:ty, $reader:ident) => {
        impl RetentionStore for $store {
            async fn interaction_tenants(&self) -> Result<Vec<String>, StoreError> {
                Ok(sqlx::query_scalar(TENANTS).fetch_all(&self.$reader).await?)
            }

            async fn purge(
                &self,
                kind: PurgeKind,
                tenant: &str,
                closed_before: UnixMillis,
                limit: u32,
                now: UnixMillis,
            ) -> Result<Purged, StoreError> {
                self.purge_batch(kind, tenant, closed_before, limit, now)
                    .await
            }

            async fn erase_contact(&self, request: &EraseRequest) -> Result<Erased, StoreError> {
                self.erase(request).await
            }

            async fn erasure(
                &self,
                contact: &ContactId,
            ) -> Result<Option<ErasureRecord>, StoreError> {
                self.erasure_record(contact).await
            }

            async fn list_erasures(
                &self,
                tenant: Option<&str>,
                limit: u32,
            ) -> Result<Vec<ErasureRecord>, StoreError> {
                self.erasure_records(tenant, limit).await
            }
        }
    };
}

retention_store!(SqliteStore, reader);
retention_store!(PgStore, pool);
