//! The instance registry and the cluster secret, on both backends: where each live
//! instance is reached by its peers (for forwarding a request to a session's owner), and
//! the key they sign forwarded requests with. The statements are the same in both
//! dialects.

use parley_core::{SessionId, UnixMillis};

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{ClusterStore, InstanceId, StoreError};

const UPSERT: &str = "INSERT INTO instances (id, url, lease_until) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET url = excluded.url, lease_until = excluded.lease_until";
/// Rows of instances gone for a long time (an hour past their lease) are forgotten by
/// the next registration.
const FORGET_DEAD: &str = "DELETE FROM instances WHERE lease_until < $1";
const URL_OF: &str = "SELECT url FROM instances WHERE id = $1 AND lease_until > $2";
const DELETE: &str = "DELETE FROM instances WHERE id = $1";
const HOLDER: &str = "SELECT owner FROM sessions WHERE id = $1 AND state = 'alive' \
     AND lease_until > $2";
const SECRET_INSERT: &str =
    "INSERT INTO cluster_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING";
const SECRET_READ: &str = "SELECT secret FROM cluster_secret WHERE id = 1";

/// How long past its lease a dead instance's row is kept (for the logs of a reader).
const FORGET_AFTER_MS: i64 = 3_600_000;

macro_rules! cluster_store {
    ($store:ty, $reader:ident, $writer:ident) => {
        impl ClusterStore for $store {
            async fn register_instance(
                &self,
                id: &InstanceId,
                url: &str,
                now: UnixMillis,
                lease_until: UnixMillis,
            ) -> Result<(), StoreError> {
                let mut tx = self.$writer.begin().await?;
                sqlx::query(FORGET_DEAD)
                    .bind(now.0.saturating_sub(FORGET_AFTER_MS))
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(UPSERT)
                    .bind(&id.0)
                    .bind(url)
                    .bind(lease_until.0)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn instance_url(
                &self,
                id: &InstanceId,
                now: UnixMillis,
            ) -> Result<Option<String>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as(URL_OF)
                    .bind(&id.0)
                    .bind(now.0)
                    .fetch_optional(&self.$reader)
                    .await?;
                Ok(row.map(|(url,)| url))
            }

            async fn remove_instance(&self, id: &InstanceId) -> Result<bool, StoreError> {
                let done = sqlx::query(DELETE)
                    .bind(&id.0)
                    .execute(&self.$writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn session_holder(
                &self,
                id: &SessionId,
                now: UnixMillis,
            ) -> Result<Option<InstanceId>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as(HOLDER)
                    .bind(id.as_str())
                    .bind(now.0)
                    .fetch_optional(&self.$reader)
                    .await?;
                Ok(row.map(|(owner,)| InstanceId(owner)))
            }

            async fn cluster_secret(&self, candidate: &str) -> Result<String, StoreError> {
                sqlx::query(SECRET_INSERT)
                    .bind(candidate)
                    .execute(&self.$writer)
                    .await?;
                let (secret,): (String,) =
                    sqlx::query_as(SECRET_READ).fetch_one(&self.$writer).await?;
                Ok(secret)
            }
        }
    };
}

cluster_store!(SqliteStore, reader, writer);
cluster_store!(PgStore, pool, pool);
