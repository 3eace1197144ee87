//! One retention purge batch, on both backends: pick the batch from the head of the
//! kind's partial index, remove what the kind removes, mark or delete the records, in
//! one transaction.

use parley_core::UnixMillis;

use super::{count, PurgeKind, Purged, Sql, MAX_PURGE_BATCH, POSTGRES, SQLITE};
use crate::codec;
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::StoreError;

impl Sql {
    /// The statement picking the next batch of `kind`.
    fn due(&self, kind: PurgeKind) -> &'static str {
        match kind {
            PurgeKind::Transcripts => self.due_transcripts,
            PurgeKind::Files => self.due_files,
            PurgeKind::Interactions => self.due_records,
        }
    }
}

macro_rules! purge_batch {
    ($store:ty, $sql:expr) => {
        impl $store {
            /// [`super::RetentionStore::purge`].
            pub(super) async fn purge_batch(
                &self,
                kind: PurgeKind,
                tenant: &str,
                closed_before: UnixMillis,
                limit: u32,
                now: UnixMillis,
            ) -> Result<Purged, StoreError> {
                let sql: &Sql = &$sql;
                let limit = i64::from(limit.clamp(1, MAX_PURGE_BATCH));
                let mut tx = self.write_tx().await?;
                let ids: Vec<String> = sqlx::query_scalar(sql.due(kind))
                    .bind(tenant)
                    .bind(closed_before.0)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                if ids.is_empty() {
                    return Ok(Purged::default());
                }
                let list = codec::to_json(&ids)?;
                let mut purged = Purged {
                    interactions: u64::try_from(ids.len()).unwrap_or(u64::MAX),
                    ..Purged::default()
                };
                if kind != PurgeKind::Files {
                    purged.events = sqlx::query(sql.delete_events)
                        .bind(&list)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                if kind != PurgeKind::Transcripts {
                    let sizes: Vec<i64> = sqlx::query_scalar(sql.delete_documents)
                        .bind(&list)
                        .fetch_all(&mut *tx)
                        .await?;
                    purged.files = u64::try_from(sizes.len()).unwrap_or(u64::MAX);
                    purged.file_bytes = sizes.into_iter().map(count).sum();
                }
                match kind {
                    PurgeKind::Transcripts => {
                        sqlx::query(sql.mark_transcripts)
                            .bind(&list)
                            .bind(now.0)
                            .execute(&mut *tx)
                            .await?;
                    }
                    PurgeKind::Files => {
                        sqlx::query(sql.mark_files)
                            .bind(&list)
                            .bind(now.0)
                            .execute(&mut *tx)
                            .await?;
                    }
                    PurgeKind::Interactions => {
                        for statement in [sql.delete_links, sql.delete_sessions] {
                            sqlx::query(statement).bind(&list).execute(&mut *tx).await?;
                        }
                        purged.interactions = sqlx::query(sql.delete_interactions)
                            .bind(&list)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                    }
                }
                tx.commit().await?;
                Ok(purged)
            }
        }
    };
}

purge_batch!(SqliteStore, SQLITE);
purge_batch!(PgStore, POSTGRES);
