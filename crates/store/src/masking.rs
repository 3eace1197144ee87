//! Masking rules stored per tenant (the role of Genesys UCS's PII configuration), on both
//! backends: the rules `[transcript-cleanup] apply-config = "ucs"` (or `"mix"`) masks a
//! tenant's chats with, managed through the admin API.
//!
//! The store keeps rules as text; compiling them (and refusing those that do not
//! compile) is the caller's, before a rule is stored. Only the order of ids differs
//! between the dialects (bytewise in both).

use std::future::Future;

use parley_core::UnixMillis;
use serde::{Deserialize, Serialize};

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{AnyStore, StoreError};

/// The most rules one listing returns: a bound on one answer, above the admin API's
/// per-tenant limit.
pub const MAX_MASKING_RULES: u32 = 1000;

/// A stored masking rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskingRuleRecord {
    /// Unique id (made by the server).
    pub id: String,
    /// The tenant whose chats it masks.
    pub tenant: String,
    /// Name, unique in the tenant (what `pii-cleanup` reports).
    pub name: String,
    /// What it finds, for people.
    pub description: String,
    /// The regular expression.
    pub regex: String,
    /// Its spec (`all`, `digits`, `digits,keep-last=N`); `None` takes `default-spec`.
    pub spec: Option<String>,
    /// Where it runs among the tenant's rules: lower first, then by id.
    pub position: i64,
    /// Whether it masks; a disabled rule is kept but skipped.
    pub enabled: bool,
    /// When it was created.
    pub created_at: UnixMillis,
    /// When it was last changed.
    pub updated_at: UnixMillis,
}

/// How a write of a rule went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleWrite {
    /// Stored.
    Saved,
    /// No rule has that id (update).
    NotFound,
    /// Another rule of the tenant has that name (or, on create, that id).
    NameTaken,
}

/// Masking rules per tenant.
pub trait MaskingRuleStore: Send + Sync {
    /// The tenant's rules, enabled or not, in order (position, then id), at most
    /// [`MAX_MASKING_RULES`].
    fn masking_rules(
        &self,
        tenant: &str,
    ) -> impl Future<Output = Result<Vec<MaskingRuleRecord>, StoreError>> + Send;

    /// A rule by id.
    fn masking_rule(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<MaskingRuleRecord>, StoreError>> + Send;

    /// Stores a new rule after the tenant's last one (its `position` is ignored: it
    /// becomes the highest of the tenant plus one). Committed before it returns.
    fn create_masking_rule(
        &self,
        rule: &MaskingRuleRecord,
    ) -> impl Future<Output = Result<RuleWrite, StoreError>> + Send;

    /// Replaces a rule's name, description, regex, spec, enabled flag and `updated_at`
    /// (its tenant, position and `created_at` stay).
    fn update_masking_rule(
        &self,
        rule: &MaskingRuleRecord,
    ) -> impl Future<Output = Result<RuleWrite, StoreError>> + Send;

    /// Removes a rule; true when it existed.
    fn delete_masking_rule(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives the tenant's rules the order of `ids` (positions 1, 2, ...), in one
    /// transaction. `ids` must name each of the tenant's rules exactly once; otherwise
    /// nothing changes and the answer is false.
    fn reorder_masking_rules(
        &self,
        tenant: &str,
        ids: &[String],
        now: UnixMillis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

const COLUMNS: &str =
    "id, tenant, name, description, regex, spec, position, enabled, created_at, updated_at";

/// The statements of one dialect.
struct Sql {
    by_tenant: String,
    ids_of_tenant: &'static str,
}

fn sql(order_id: &str) -> Sql {
    Sql {
        by_tenant: format!(
            "SELECT {COLUMNS} FROM masking_rules WHERE tenant = $1 \
             ORDER BY position, {order_id} LIMIT $2"
        ),
        ids_of_tenant: "SELECT id FROM masking_rules WHERE tenant = $1",
    }
}

const BY_ID: &str = "SELECT id, tenant, name, description, regex, spec, position, enabled, \
     created_at, updated_at FROM masking_rules WHERE id = $1";
const INSERT: &str = "INSERT INTO masking_rules (id, tenant, name, description, regex, spec, \
     position, enabled, created_at, updated_at) \
     SELECT $1, $2, $3, $4, $5, $6, COALESCE(MAX(position), 0) + 1, $7, $8, $9 \
     FROM masking_rules WHERE tenant = $2";
const UPDATE: &str = "UPDATE masking_rules SET name = $2, description = $3, regex = $4, \
     spec = $5, enabled = $6, updated_at = $7 WHERE id = $1";
const DELETE: &str = "DELETE FROM masking_rules WHERE id = $1";
const SET_POSITION: &str =
    "UPDATE masking_rules SET position = $3, updated_at = $4 WHERE tenant = $1 AND id = $2";

/// A `masking_rules` row as read.
#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    tenant: String,
    name: String,
    description: String,
    regex: String,
    spec: Option<String>,
    position: i64,
    enabled: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<Row> for MaskingRuleRecord {
    fn from(r: Row) -> MaskingRuleRecord {
        MaskingRuleRecord {
            id: r.id,
            tenant: r.tenant,
            name: r.name,
            description: r.description,
            regex: r.regex,
            spec: r.spec,
            position: r.position,
            enabled: r.enabled,
            created_at: UnixMillis(r.created_at),
            updated_at: UnixMillis(r.updated_at),
        }
    }
}

/// `NameTaken` for a unique violation (the name index, or the id on create), else the
/// error.
fn written(done: Result<u64, sqlx::Error>, missing: RuleWrite) -> Result<RuleWrite, StoreError> {
    match done {
        Ok(0) => Ok(missing),
        Ok(_) => Ok(RuleWrite::Saved),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(RuleWrite::NameTaken),
        Err(e) => Err(e.into()),
    }
}

/// Whether `ids` names each of `stored` exactly once.
fn same_rules(stored: &[String], ids: &[String]) -> bool {
    let mut a: Vec<&str> = stored.iter().map(String::as_str).collect();
    let mut b: Vec<&str> = ids.iter().map(String::as_str).collect();
    a.sort_unstable();
    b.sort_unstable();
    let unique = b.windows(2).all(|w| w[0] != w[1]);
    unique && a == b
}

macro_rules! masking_store {
    ($store:ty, $reader:ident, $writer:ident, $order_id:literal) => {
        impl MaskingRuleStore for $store {
            async fn masking_rules(
                &self,
                tenant: &str,
            ) -> Result<Vec<MaskingRuleRecord>, StoreError> {
                let rows: Vec<Row> = sqlx::query_as(&sql($order_id).by_tenant)
                    .bind(tenant)
                    .bind(i64::from(MAX_MASKING_RULES))
                    .fetch_all(&self.$reader)
                    .await?;
                Ok(rows.into_iter().map(MaskingRuleRecord::from).collect())
            }

            async fn masking_rule(
                &self,
                id: &str,
            ) -> Result<Option<MaskingRuleRecord>, StoreError> {
                let row: Option<Row> = sqlx::query_as(BY_ID)
                    .bind(id)
                    .fetch_optional(&self.$reader)
                    .await?;
                Ok(row.map(MaskingRuleRecord::from))
            }

            async fn create_masking_rule(
                &self,
                r: &MaskingRuleRecord,
            ) -> Result<RuleWrite, StoreError> {
                let done = sqlx::query(INSERT)
                    .bind(&r.id)
                    .bind(&r.tenant)
                    .bind(&r.name)
                    .bind(&r.description)
                    .bind(&r.regex)
                    .bind(r.spec.as_deref())
                    .bind(r.enabled)
                    .bind(r.created_at.0)
                    .bind(r.updated_at.0)
                    .execute(&self.$writer)
                    .await
                    .map(|d| d.rows_affected());
                written(done, RuleWrite::NameTaken)
            }

            async fn update_masking_rule(
                &self,
                r: &MaskingRuleRecord,
            ) -> Result<RuleWrite, StoreError> {
                let done = sqlx::query(UPDATE)
                    .bind(&r.id)
                    .bind(&r.name)
                    .bind(&r.description)
                    .bind(&r.regex)
                    .bind(r.spec.as_deref())
                    .bind(r.enabled)
                    .bind(r.updated_at.0)
                    .execute(&self.$writer)
                    .await
                    .map(|d| d.rows_affected());
                written(done, RuleWrite::NotFound)
            }

            async fn delete_masking_rule(&self, id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query(DELETE).bind(id).execute(&self.$writer).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn reorder_masking_rules(
                &self,
                tenant: &str,
                ids: &[String],
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                let mut tx = self.write_tx().await?;
                let stored: Vec<String> = sqlx::query_scalar(sql($order_id).ids_of_tenant)
                    .bind(tenant)
                    .fetch_all(&mut *tx)
                    .await?;
                if !same_rules(&stored, ids) {
                    return Ok(false);
                }
                for (position, id) in (1_i64..).zip(ids) {
                    sqlx::query(SET_POSITION)
                        .bind(tenant)
                        .bind(id)
                        .bind(position)
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}

masking_store!(SqliteStore, reader, writer, "id");
masking_store!(PgStore, pool, pool, "id COLLATE \"C\"");

/// Delegates a call to the backend.
macro_rules! delegate {
    ($self:ident.$method:ident($($arg:expr),*)) => {
        match $self {
            AnyStore::Sqlite(s) => s.$method($($arg),*).await,
            AnyStore::Postgres(s) => s.$method($($arg),*).await,
        }
    };
}

impl MaskingRuleStore for AnyStore {
    async fn masking_rules(&self, tenant: &str) -> Result<Vec<MaskingRuleRecord>, StoreError> {
        delegate!(self.masking_rules(tenant))
    }

    async fn masking_rule(&self, id: &str) -> Result<Option<MaskingRuleRecord>, StoreError> {
        delegate!(self.masking_rule(id))
    }

    async fn create_masking_rule(&self, rule: &MaskingRuleRecord) -> Result<RuleWrite, StoreError> {
        delegate!(self.create_masking_rule(rule))
    }

    async fn update_masking_rule(&self, rule: &MaskingRuleRecord) -> Result<RuleWrite, StoreError> {
        delegate!(self.update_masking_rule(rule))
    }

    async fn delete_masking_rule(&self, id: &str) -> Result<bool, StoreError> {
        delegate!(self.delete_masking_rule(id))
    }

    async fn reorder_masking_rules(
        &self,
        tenant: &str,
        ids: &[String],
        now: UnixMillis,
    ) -> Result<bool, StoreError> {
        delegate!(self.reorder_masking_rules(tenant, ids, now))
    }
}

#[cfg(test)]
mod tests {
    use super::same_rules;

    #[test]
    fn a_reorder_names_each_rule_once() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(same_rules(&s(&["a", "b"]), &s(&["b", "a"])));
        assert!(same_rules(&s(&[]), &s(&[])));
        assert!(!same_rules(&s(&["a", "b"]), &s(&["a"])));
        assert!(!same_rules(&s(&["a", "b"]), &s(&["a", "a"])));
        assert!(!same_rules(&s(&["a"]), &s(&["a", "a"])));
        assert!(!same_rules(&s(&["a", "b"]), &s(&["a", "c"])));
    }
}
