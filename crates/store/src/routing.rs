//! What cluster-wide routing keeps in the store (docs/ha.md, "Cluster-wide routing"):
//! named leader leases (the routing leader holds `routing`), the routing bus between
//! instances, and who owns a live session. Both backends run the same statements except
//! the bus read, where PostgreSQL skips rows another reader has locked and wakes readers
//! with `NOTIFY`.

use parley_core::{SessionId, UnixMillis};

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{Epoch, InstanceId, StoreError};

/// The channel `NOTIFY` wakes bus readers on; the payload is the target (an instance
/// id, `leader`), or [`NEW_LEADER`].
pub const BUS_CHANNEL: &str = "parley_bus";
/// The notification payload telling every instance that a lease changed hands.
pub const NEW_LEADER: &str = "new-leader";

/// The holder of a leader lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    /// Who holds it.
    pub instance: InstanceId,
    /// Goes up each time the lease changes hands.
    pub epoch: Epoch,
    /// Until when (it is free after).
    pub lease_until: UnixMillis,
}

/// A message on the routing bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMessage {
    /// Order of posting (per poster; readers take their rows in this order).
    pub id: i64,
    /// The leader epoch the poster knew.
    pub epoch: Epoch,
    /// JSON.
    pub payload: String,
}

/// Leader leases, the routing bus and session owners.
pub trait RoutingStore: Send + Sync {
    /// Takes lease `name` for `me` until `lease_until` when it is free (never taken, or
    /// lapsed at `now`) or already `me`'s (renewal); epoch + 1 when it changes hands.
    /// Returns the holder after the attempt (`me` or another instance).
    fn lead(
        &self,
        name: &str,
        me: &InstanceId,
        now: UnixMillis,
        lease_until: UnixMillis,
    ) -> impl std::future::Future<Output = Result<Leader, StoreError>> + Send;

    /// Gives lease `name` up if `me` holds it (graceful shutdown), so another instance
    /// takes it at once.
    fn resign(
        &self,
        name: &str,
        me: &InstanceId,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;

    /// Posts messages `(target, epoch, payload)`, in order, in one transaction, and
    /// wakes their targets.
    fn bus_post(
        &self,
        messages: &[(String, Epoch, String)],
        now: UnixMillis,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;

    /// Takes (reads and deletes) at most `limit` messages for `target`, in id order.
    /// With `fence` (lease name, instance, epoch), only while that instance holds that
    /// lease at that epoch (a deposed leader takes nothing).
    fn bus_take(
        &self,
        target: &str,
        fence: Option<(&str, &InstanceId, Epoch)>,
        limit: u32,
    ) -> impl std::future::Future<Output = Result<Vec<BusMessage>, StoreError>> + Send;

    /// Deletes messages posted before `before` (to instances that died); how many.
    fn bus_purge(
        &self,
        before: UnixMillis,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send;

    /// The owner of a live session and its lease end.
    fn session_owner(
        &self,
        id: &SessionId,
    ) -> impl std::future::Future<Output = Result<Option<(InstanceId, UnixMillis)>, StoreError>> + Send;
}

/// The name of the routing leader's lease.
pub const ROUTING_LEASE: &str = "routing";

const LEAD_INSERT: &str = "INSERT INTO leader_leases (name, instance, epoch, lease_until) \
     VALUES ($1, '', 0, 0) ON CONFLICT (name) DO NOTHING";
// SET expressions see the row before the update in both dialects.
const LEAD: &str = "UPDATE leader_leases SET \
     epoch = CASE WHEN instance = $2 THEN epoch ELSE epoch + 1 END, \
     instance = $2, lease_until = $3 \
     WHERE name = $1 AND (instance = $2 OR lease_until <= $4)";
const LEADER: &str = "SELECT instance, epoch, lease_until FROM leader_leases WHERE name = $1";
const RESIGN: &str = "UPDATE leader_leases SET lease_until = 0 WHERE name = $1 AND instance = $2";
const POST: &str =
    "INSERT INTO routing_bus (target, epoch, payload, created_at) VALUES ($1, $2, $3, $4)";
const PURGE: &str = "DELETE FROM routing_bus WHERE created_at < $1";
const OWNER: &str = "SELECT owner, lease_until FROM sessions WHERE id = $1 AND state = 'alive'";

const FENCE: &str = " AND EXISTS (SELECT 1 FROM leader_leases \
     WHERE name = $3 AND instance = $4 AND epoch = $5)";
const TAKE_SQLITE: &str = "DELETE FROM routing_bus WHERE id IN (SELECT id FROM routing_bus \
     WHERE target = $1 ORDER BY id LIMIT $2)";
const TAKE_POSTGRES: &str = "DELETE FROM routing_bus WHERE id IN (SELECT id FROM routing_bus \
     WHERE target = $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)";
const RETURNING: &str = " RETURNING id, epoch, payload";

fn take_sql(base: &str, fenced: bool) -> String {
    let fence = if fenced { FENCE } else { "" };
    format!("{base}{fence}{RETURNING}")
}

macro_rules! routing_store {
    ($store:ty, $reader:ident, $writer:ident, $take:expr, $notify:expr) => {
        impl RoutingStore for $store {
            async fn lead(
                &self,
                name: &str,
                me: &InstanceId,
                now: UnixMillis,
                lease_until: UnixMillis,
            ) -> Result<Leader, StoreError> {
                let mut tx = self.$writer.begin().await?;
                sqlx::query(LEAD_INSERT)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                let before: (String, i64, i64) = sqlx::query_as(LEADER)
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(LEAD)
                    .bind(name)
                    .bind(&me.0)
                    .bind(lease_until.0)
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                let (instance, epoch, until): (String, i64, i64) = sqlx::query_as(LEADER)
                    .bind(name)
                    .fetch_one(&mut *tx)
                    .await?;
                if epoch != before.1 {
                    let notify: fn(&str) -> Option<&'static str> = $notify;
                    if let Some(sql) = notify(crate::routing::NEW_LEADER) {
                        sqlx::query(sql)
                            .bind(crate::routing::NEW_LEADER)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(Leader {
                    instance: InstanceId(instance),
                    epoch: Epoch(epoch),
                    lease_until: UnixMillis(until),
                })
            }

            async fn resign(&self, name: &str, me: &InstanceId) -> Result<(), StoreError> {
                sqlx::query(RESIGN)
                    .bind(name)
                    .bind(&me.0)
                    .execute(&self.$writer)
                    .await?;
                Ok(())
            }

            async fn bus_post(
                &self,
                messages: &[(String, Epoch, String)],
                now: UnixMillis,
            ) -> Result<(), StoreError> {
                if messages.is_empty() {
                    return Ok(());
                }
                let mut tx = self.$writer.begin().await?;
                let mut targets: Vec<&str> = Vec::new();
                for (target, epoch, payload) in messages {
                    sqlx::query(POST)
                        .bind(target)
                        .bind(epoch.0)
                        .bind(payload)
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await?;
                    if !targets.contains(&target.as_str()) {
                        targets.push(target);
                    }
                }
                let notify: fn(&str) -> Option<&'static str> = $notify;
                for target in targets {
                    if let Some(sql) = notify(target) {
                        sqlx::query(sql).bind(target).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn bus_take(
                &self,
                target: &str,
                fence: Option<(&str, &InstanceId, Epoch)>,
                limit: u32,
            ) -> Result<Vec<BusMessage>, StoreError> {
                let sql = take_sql($take, fence.is_some());
                let mut query = sqlx::query_as::<_, (i64, i64, String)>(&sql)
                    .bind(target)
                    .bind(i64::from(limit));
                if let Some((name, me, epoch)) = fence {
                    query = query.bind(name.to_owned()).bind(me.0.clone()).bind(epoch.0);
                }
                let mut rows = query.fetch_all(&self.$writer).await?;
                rows.sort_by_key(|r| r.0);
                Ok(rows
                    .into_iter()
                    .map(|(id, epoch, payload)| BusMessage {
                        id,
                        epoch: Epoch(epoch),
                        payload,
                    })
                    .collect())
            }

            async fn bus_purge(&self, before: UnixMillis) -> Result<u64, StoreError> {
                let done = sqlx::query(PURGE)
                    .bind(before.0)
                    .execute(&self.$writer)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn session_owner(
                &self,
                id: &SessionId,
            ) -> Result<Option<(InstanceId, UnixMillis)>, StoreError> {
                let row: Option<(String, i64)> = sqlx::query_as(OWNER)
                    .bind(id.as_str())
                    .fetch_optional(&self.$reader)
                    .await?;
                Ok(row.map(|(o, l)| (InstanceId(o), UnixMillis(l))))
            }
        }
    };
}

routing_store!(SqliteStore, reader, writer, TAKE_SQLITE, |_| None);
routing_store!(PgStore, pool, pool, TAKE_POSTGRES, |_| Some(
    "SELECT pg_notify('parley_bus', $1)"
));

/// Wakes a bus reader: the targets posted to since the last call, and
/// [`NEW_LEADER`] (PostgreSQL `LISTEN parley_bus`).
pub struct BusWakeups(sqlx::postgres::PgListener);

impl BusWakeups {
    /// The next notification's payload. After an error the listener reconnects on the
    /// next call (notifications sent meanwhile are lost: readers also poll).
    pub async fn recv(&mut self) -> Result<String, StoreError> {
        Ok(self.0.recv().await?.payload().to_owned())
    }
}

impl PgStore {
    /// Listens for bus notifications.
    pub async fn bus_wakeups(&self) -> Result<BusWakeups, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(BUS_CHANNEL).await?;
        Ok(BusWakeups(listener))
    }
}
