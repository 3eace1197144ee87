//! Interaction records outside the group commit, on both backends: reading one, merging
//! properties into it (ESP `UpdateProperties`, the router's state), and the admin
//! listing. The records themselves are written by the group commit (`CreateSession`,
//! `UpdateUserData`, `Close`), which never touches `properties`: a property set here
//! survives the close.
//!
//! Only the JSON handling differs between the dialects (PostgreSQL casts to and from
//! `json`, and merges through `jsonb`); the two impls are one macro over the statements
//! of each.

use parley_core::{SessionId, UserData};

use crate::codec::{self, InteractionRow};
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{
    InteractionFilter, InteractionRecord, InteractionStore, SessionState, StoreError, MAX_PAGE,
};

/// The statements of one dialect.
struct Sql {
    /// `SELECT <columns> FROM interactions`, to which conditions are appended.
    select: &'static str,
    /// Merges the JSON object `$2` into the properties of interaction `$1`.
    merge_properties: &'static str,
}

const SQLITE: Sql = Sql {
    select: "SELECT id, created_at, tenant, endpoint, queue, subject, user_data, state, \
         end_info, transcript, properties, transcript_purged_at, files_purged_at \
         FROM interactions",
    // Values are strings, never JSON null, so json_patch's "null deletes" never applies.
    merge_properties: "UPDATE interactions SET properties = json_patch(properties, $2) \
         WHERE id = $1",
};

const POSTGRES: Sql = Sql {
    select: "SELECT id, created_at, tenant, endpoint, queue, subject, \
         user_data::text AS user_data, state, end_info::text AS end_info, \
         transcript::text AS transcript, properties::text AS properties, \
         transcript_purged_at, files_purged_at FROM interactions",
    merge_properties: "UPDATE interactions \
         SET properties = (properties::jsonb || $2::jsonb)::json WHERE id = $1",
};

/// One condition of a listing and the value it binds.
enum Bound {
    Text(String),
    Int(i64),
}

/// The listing statement for `filter` on `select`: only the conditions the filter sets,
/// so each combination is a plain statement the planner can serve from an index
/// (`interactions_queue_created`, `interactions_alive_created`, ...) rather than one
/// generic plan full of `$n IS NULL OR ...`. Returns the SQL and its bound values in
/// placeholder order (the limit last).
fn listing(select: &str, filter: &InteractionFilter) -> (String, Vec<Bound>) {
    let mut conditions: Vec<(&str, Bound)> = Vec::new();
    if let Some(tenant) = &filter.tenant {
        conditions.push(("tenant =", Bound::Text(tenant.clone())));
    }
    if let Some(queue) = &filter.queue {
        conditions.push(("queue =", Bound::Text(queue.clone())));
    }
    if let Some(state) = filter.state {
        let state = match state {
            SessionState::Alive => codec::ALIVE,
            SessionState::Closed => codec::CLOSED,
        };
        conditions.push(("state =", Bound::Text(state.to_owned())));
    }
    if let Some(since) = filter.since {
        conditions.push(("created_at >=", Bound::Int(since.0)));
    }
    let mut sql = select.to_owned();
    let mut binds = Vec::with_capacity(conditions.len() + 3);
    for (i, (condition, value)) in conditions.into_iter().enumerate() {
        let joiner = if i == 0 { " WHERE " } else { " AND " };
        sql.push_str(&format!("{joiner}{condition} ${}", i + 1));
        binds.push(value);
    }
    if let Some((at, id)) = &filter.before {
        // Keyset paging in the listing's order (both databases compare row values).
        let joiner = if binds.is_empty() { " WHERE " } else { " AND " };
        let n = binds.len();
        sql.push_str(&format!(
            "{joiner}(created_at, id) < (${}, ${})",
            n + 1,
            n + 2
        ));
        binds.push(Bound::Int(at.0));
        binds.push(Bound::Text(id.as_str().to_owned()));
    }
    sql.push_str(&format!(
        " ORDER BY created_at DESC, id DESC LIMIT ${}",
        binds.len() + 1
    ));
    binds.push(Bound::Int(i64::from(filter.limit.min(MAX_PAGE))));
    (sql, binds)
}

macro_rules! interaction_store {
    ($store:ty, $reader:ident, $writer:ident, $sql:expr) => {
        impl InteractionStore for $store {
            async fn interaction(
                &self,
                id: &SessionId,
            ) -> Result<Option<InteractionRecord>, StoreError> {
                let sql = format!("{} WHERE id = $1", $sql.select);
                let row: Option<InteractionRow> = sqlx::query_as(&sql)
                    .bind(id.as_str())
                    .fetch_optional(&self.$reader)
                    .await?;
                row.map(InteractionRow::into_record).transpose()
            }

            async fn update_interaction_properties(
                &self,
                id: &SessionId,
                set: &UserData,
            ) -> Result<bool, StoreError> {
                let update = [(id.clone(), set.clone())];
                Ok(self.update_interactions_properties(&update).await? > 0)
            }

            async fn update_interactions_properties(
                &self,
                updates: &[(SessionId, UserData)],
            ) -> Result<usize, StoreError> {
                let mut tx = self.$writer.begin().await?;
                let mut found = 0;
                for (id, set) in updates {
                    let done = sqlx::query($sql.merge_properties)
                        .bind(id.as_str())
                        .bind(codec::to_json(set)?)
                        .execute(&mut *tx)
                        .await?;
                    found += usize::try_from(done.rows_affected()).unwrap_or(usize::MAX);
                }
                tx.commit().await?;
                Ok(found)
            }

            async fn list_interactions(
                &self,
                filter: &InteractionFilter,
            ) -> Result<Vec<InteractionRecord>, StoreError> {
                let (sql, binds) = listing($sql.select, filter);
                let mut query = sqlx::query_as::<_, InteractionRow>(&sql);
                for value in binds {
                    query = match value {
                        Bound::Text(text) => query.bind(text),
                        Bound::Int(int) => query.bind(int),
                    };
                }
                let rows = query.fetch_all(&self.$reader).await?;
                rows.into_iter().map(InteractionRow::into_record).collect()
            }
        }
    };
}

interaction_store!(SqliteStore, reader, writer, SQLITE);
interaction_store!(PgStore, pool, pool, POSTGRES);

#[cfg(test)]
mod tests {
    use super::*;
    use parley_core::UnixMillis;

    #[test]
    fn listings_bind_only_the_conditions_set() {
        let (sql, binds) = listing("SELECT x FROM interactions", &InteractionFilter::default());
        assert_eq!(
            sql,
            "SELECT x FROM interactions ORDER BY created_at DESC, id DESC LIMIT $1"
        );
        assert_eq!(binds.len(), 1);
        let filter = InteractionFilter {
            tenant: None,
            queue: Some("sales".into()),
            state: Some(SessionState::Alive),
            since: Some(UnixMillis(5)),
            before: None,
            limit: u32::MAX,
        };
        let (sql, binds) = listing("S", &filter);
        assert_eq!(
            sql,
            "S WHERE queue = $1 AND state = $2 AND created_at >= $3 \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        assert!(matches!(&binds[1], Bound::Text(s) if s == "alive"));
        assert!(matches!(binds[3], Bound::Int(n) if n == i64::from(MAX_PAGE)));
    }
}
