//! Erasure of one contact, and its audit records, on both backends.
//!
//! On PostgreSQL the contact's row is locked first: two erasures of one contact are
//! serialised (the second finds the audit record of the first), and a chat being linked
//! to the contact meanwhile waits for the erasure (its link then finds no contact and is
//! not written).

use parley_core::contacts::ContactId;

use super::{count, EraseRequest, Erased, ErasureRecord, Sql, POSTGRES, SQLITE};
use crate::codec;
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{StoreError, MAX_PAGE};

/// The linked interactions of contact `$1` (same in both dialects).
const LINKED: &str = "SELECT session_id FROM contact_interactions WHERE contact_id = $1";
const DELETE_CONTACT_LINKS: &str = "DELETE FROM contact_interactions WHERE contact_id = $1";
const DELETE_CONTACT: &str = "DELETE FROM contacts WHERE id = $1";
const INSERT_ERASURE: &str = "INSERT INTO erasures (contact_id, tenant, erased_at, erased_by, \
     reference, interactions, events, files, file_bytes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const COLUMNS: &str = "SELECT contact_id, tenant, erased_at, erased_by, reference, \
     interactions, events, files, file_bytes FROM erasures";

/// An `erasures` row as read.
#[derive(sqlx::FromRow)]
struct ErasureRow {
    contact_id: String,
    tenant: String,
    erased_at: i64,
    erased_by: String,
    reference: Option<String>,
    interactions: i64,
    events: i64,
    files: i64,
    file_bytes: i64,
}

impl ErasureRow {
    fn into_record(self) -> Result<ErasureRecord, StoreError> {
        Ok(ErasureRecord {
            contact: self.contact_id.parse().map_err(|e| {
                StoreError::Backend(format!("corrupt erasure row: contact id: {e}"))
            })?,
            tenant: self.tenant,
            erased_at: parley_core::UnixMillis(self.erased_at),
            erased_by: self.erased_by,
            reference: self.reference,
            interactions: count(self.interactions),
            events: count(self.events),
            files: count(self.files),
            file_bytes: count(self.file_bytes),
        })
    }
}

/// A count as stored.
fn stored(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

macro_rules! erasure {
    ($store:ty, $reader:ident, $sql:expr) => {
        impl $store {
            /// [`super::RetentionStore::erase_contact`].
            pub(super) async fn erase(&self, req: &EraseRequest) -> Result<Erased, StoreError> {
                let sql: &Sql = &$sql;
                let contact = req.contact.as_str();
                let mut tx = self.write_tx().await?;
                let tenant: Option<String> = sqlx::query_scalar(sql.lock_contact)
                    .bind(contact)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(tenant) = tenant else {
                    drop(tx);
                    return Ok(match self.erasure_record(&req.contact).await? {
                        Some(record) => Erased::AlreadyErased(record),
                        None => Erased::NotFound,
                    });
                };
                let linked: Vec<String> = sqlx::query_scalar(LINKED)
                    .bind(contact)
                    .fetch_all(&mut *tx)
                    .await?;
                let list = codec::to_json(&linked)?;
                let live: Vec<(String,)> = sqlx::query_as(sql.live)
                    .bind(&list)
                    .fetch_all(&mut *tx)
                    .await?;
                if !live.is_empty() {
                    return Ok(Erased::Live(codec::session_ids(live)?));
                }
                let events = sqlx::query(sql.delete_events)
                    .bind(&list)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let sizes: Vec<i64> = sqlx::query_scalar(sql.delete_documents)
                    .bind(&list)
                    .fetch_all(&mut *tx)
                    .await?;
                sqlx::query(sql.delete_sessions)
                    .bind(&list)
                    .execute(&mut *tx)
                    .await?;
                let interactions = sqlx::query(sql.delete_interactions)
                    .bind(&list)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                for statement in [DELETE_CONTACT_LINKS, DELETE_CONTACT] {
                    sqlx::query(statement)
                        .bind(contact)
                        .execute(&mut *tx)
                        .await?;
                }
                let record = ErasureRecord {
                    contact: req.contact.clone(),
                    tenant,
                    erased_at: req.at,
                    erased_by: req.by.clone(),
                    reference: req.reference.clone(),
                    interactions,
                    events,
                    files: u64::try_from(sizes.len()).unwrap_or(u64::MAX),
                    file_bytes: sizes.into_iter().map(count).sum(),
                };
                sqlx::query(INSERT_ERASURE)
                    .bind(contact)
                    .bind(&record.tenant)
                    .bind(record.erased_at.0)
                    .bind(&record.erased_by)
                    .bind(&record.reference)
                    .bind(stored(record.interactions))
                    .bind(stored(record.events))
                    .bind(stored(record.files))
                    .bind(stored(record.file_bytes))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Erased::Erased(record))
            }

            /// [`super::RetentionStore::erasure`].
            pub(super) async fn erasure_record(
                &self,
                contact: &ContactId,
            ) -> Result<Option<ErasureRecord>, StoreError> {
                let sql = format!("{COLUMNS} WHERE contact_id = $1");
                let row: Option<ErasureRow> = sqlx::query_as(&sql)
                    .bind(contact.as_str())
                    .fetch_optional(&self.$reader)
                    .await?;
                row.map(ErasureRow::into_record).transpose()
            }

            /// [`super::RetentionStore::list_erasures`].
            pub(super) async fn erasure_records(
                &self,
                tenant: Option<&str>,
                limit: u32,
            ) -> Result<Vec<ErasureRecord>, StoreError> {
                let sql = format!(
                    "{COLUMNS} WHERE (CAST($1 AS TEXT) IS NULL OR tenant = $1) \
                     ORDER BY erased_at DESC, contact_id DESC LIMIT $2"
                );
                let rows: Vec<ErasureRow> = sqlx::query_as(&sql)
                    .bind(tenant)
                    .bind(i64::from(limit.min(MAX_PAGE)))
                    .fetch_all(&self.$reader)
                    .await?;
                rows.into_iter().map(ErasureRow::into_record).collect()
            }
        }
    };
}

erasure!(SqliteStore, reader, SQLITE);
erasure!(PgStore, pool, POSTGRES);
