//! Row counts straight from the tables, for the checks that must see what the traits
//! hide (an event row without its session, a link without its contact): retention and
//! erasure promise that nothing is left anywhere, not just that reads find nothing.

use std::future::Future;

use crate::AnyStore;

/// Every table that holds a session id, with its column.
pub const SESSION_TABLES: [(&str, &str); 5] = [
    ("sessions", "id"),
    ("events", "session_id"),
    ("interactions", "id"),
    ("documents", "session_id"),
    ("contact_interactions", "session_id"),
];

/// Every table that holds a contact id, with its column (the audit table `erasures`
/// holds it too, on purpose, and nothing else of the contact).
pub const CONTACT_TABLES: [(&str, &str); 2] =
    [("contacts", "id"), ("contact_interactions", "contact_id")];

/// Raw access to the tables of a store, for the conformance suite.
pub trait Inspect: Send + Sync {
    /// How many rows of `table` have `column` = `value`.
    fn rows(&self, table: &str, column: &str, value: &str) -> impl Future<Output = i64> + Send;
}

impl Inspect for AnyStore {
    async fn rows(&self, table: &str, column: &str, value: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1");
        let counted = match self {
            AnyStore::Sqlite(s) => {
                sqlx::query_scalar(&sql)
                    .bind(value)
                    .fetch_one(&s.reader)
                    .await
            }
            AnyStore::Postgres(s) => {
                sqlx::query_scalar(&sql)
                    .bind(value)
                    .fetch_one(&s.pool)
                    .await
            }
        };
        counted.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// Panics unless no table holds a row of session `id`.
pub(super) async fn assert_no_rows_of_session<S: Inspect>(store: &S, id: &str, check: &str) {
    for (table, column) in SESSION_TABLES {
        let n = store.rows(table, column, id).await;
        assert_eq!(n, 0, "{check}: {table} still has {n} rows of session {id}");
    }
}

/// Panics unless no table but `erasures` holds a row of contact `id`.
pub(super) async fn assert_no_rows_of_contact<S: Inspect>(store: &S, id: &str, check: &str) {
    for (table, column) in CONTACT_TABLES {
        let n = store.rows(table, column, id).await;
        assert_eq!(n, 0, "{check}: {table} still has {n} rows of contact {id}");
    }
}
