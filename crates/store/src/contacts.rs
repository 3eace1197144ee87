//! Contacts and their interaction history, on both backends. A contact row keeps its
//! attributes as JSON plus the normalised email, phone and name keys of
//! `parley_core::contacts` (and the verified `Identifier`, exactly) in indexed columns, so a lookup is an index probe and the
//! store and the core always agree on what "the same value" is. Each write is its own
//! short statement (not part of the group commit): identification happens once per chat.
//!
//! Only the JSON columns differ between the dialects (PostgreSQL casts to and from
//! `json`); the two impls are one macro over the statements of each.

use parley_core::contacts::{
    normalize_email, normalize_name, normalize_phone, Contact, ContactAttributes, ContactId,
    IDENTIFIER,
};
use parley_core::{SessionId, UnixMillis};

use crate::codec::InteractionRow;
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{ContactStore, InteractionRecord, StoreError, MAX_PAGE};

/// The statements of one dialect.
struct Sql {
    insert: &'static str,
    update: &'static str,
    by_id: &'static str,
    by_email: &'static str,
    by_phone: &'static str,
    by_name: &'static str,
    by_identifier: &'static str,
    search: &'static str,
    history: &'static str,
}

/// Moves a session's interaction to a contact, if the contact exists (same in both).
const LINK: &str = "INSERT INTO contact_interactions (session_id, contact_id, linked_at) \
     SELECT $1, id, $3 FROM contacts WHERE id = $2 \
     ON CONFLICT (session_id) DO UPDATE SET contact_id = excluded.contact_id, \
     linked_at = excluded.linked_at";

/// The contact a session's interaction is linked to (same in both).
const CONTACT_OF: &str = "SELECT contact_id FROM contact_interactions WHERE session_id = $1";

/// The statements, given the dialect's cast of a JSON parameter, how it reads the
/// attributes column, and how it reads the interaction columns of the history.
macro_rules! sql {
    ($json_in:literal, $attributes_out:literal, $interaction_cols:literal) => {
        Sql {
            insert: concat!(
                "INSERT INTO contacts (id, tenant, attributes, email_key, phone_key, ",
                "first_name_key, last_name_key, created_at, updated_at, identifier_key) ",
                "VALUES ($1, $2, $3",
                $json_in,
                ", $4, $5, $6, $7, $8, $9, $10)"
            ),
            update: concat!(
                "UPDATE contacts SET attributes = $2",
                $json_in,
                ", email_key = $3, phone_key = $4, first_name_key = $5, last_name_key = $6, ",
                "updated_at = $7, identifier_key = $8 WHERE id = $1"
            ),
            by_id: concat!(
                "SELECT id, tenant, ",
                $attributes_out,
                ", created_at, updated_at FROM contacts WHERE id = $1"
            ),
            by_email: concat!(
                "SELECT id, tenant, ",
                $attributes_out,
                ", created_at, updated_at FROM contacts WHERE tenant = $1 AND email_key = $2 ",
                "ORDER BY created_at, id LIMIT $3"
            ),
            by_phone: concat!(
                "SELECT id, tenant, ",
                $attributes_out,
                ", created_at, updated_at FROM contacts WHERE tenant = $1 AND phone_key = $2 ",
                "ORDER BY created_at, id LIMIT $3"
            ),
            by_name: concat!(
                "SELECT id, tenant, ",
                $attributes_out,
                ", created_at, updated_at FROM contacts WHERE tenant = $1 ",
                "AND first_name_key = $2 AND last_name_key = $3 ",
                "ORDER BY created_at, id LIMIT $4"
            ),
            by_identifier: concat!(
                "SELECT id, tenant, ",
                $attributes_out,
                ", created_at, updated_at FROM contacts WHERE tenant = $1 ",
                "AND identifier_key = $2 ORDER BY created_at, id LIMIT $3"
            ),
            search: concat!(
                "SELECT id, tenant, ",
                $attributes_out,
                ", created_at, updated_at FROM contacts ",
                "WHERE (CAST($1 AS TEXT) IS NULL OR tenant = $1) AND (",
                "email_key LIKE $2 ESCAPE '\\' ",
                "OR TRIM(COALESCE(first_name_key, '') || ' ' || COALESCE(last_name_key, '')) ",
                "LIKE $2 ESCAPE '\\' ",
                "OR phone_key LIKE $3 ESCAPE '\\' OR id = $4 OR identifier_key = $4) ",
                "ORDER BY created_at DESC, id LIMIT $5"
            ),
            history: concat!(
                "SELECT ",
                $interaction_cols,
                " FROM contact_interactions ci JOIN interactions i ON i.id = ci.session_id ",
                "WHERE ci.contact_id = $1 ORDER BY i.created_at DESC, i.id DESC LIMIT $2"
            ),
        }
    };
}

const SQLITE: Sql = sql!(
    "",
    "attributes",
    "i.id, i.created_at, i.tenant, i.endpoint, i.queue, i.subject, i.user_data, i.state, \
     i.end_info, i.transcript, i.properties, i.transcript_purged_at, i.files_purged_at"
);

const POSTGRES: Sql = sql!(
    "::json",
    "attributes::text AS attributes",
    "i.id, i.created_at, i.tenant, i.endpoint, i.queue, i.subject, \
     i.user_data::text AS user_data, i.state, i.end_info::text AS end_info, \
     i.transcript::text AS transcript, i.properties::text AS properties, \
     i.transcript_purged_at, i.files_purged_at"
);

/// A `contacts` row as read.
#[derive(sqlx::FromRow)]
struct ContactRow {
    id: String,
    tenant: String,
    attributes: String,
    created_at: i64,
    updated_at: i64,
}

impl ContactRow {
    fn into_contact(self) -> Result<Contact, StoreError> {
        let corrupt = |e: String| StoreError::Backend(format!("corrupt contact row: {e}"));
        Ok(Contact {
            id: self.id.parse().map_err(|e| corrupt(format!("{e}")))?,
            tenant: self.tenant,
            attributes: serde_json::from_str(&self.attributes)
                .map_err(|e| corrupt(e.to_string()))?,
            created_at: UnixMillis(self.created_at),
            updated_at: UnixMillis(self.updated_at),
        })
    }
}

fn contacts(rows: Vec<ContactRow>) -> Result<Vec<Contact>, StoreError> {
    rows.into_iter().map(ContactRow::into_contact).collect()
}

/// The values bound for a contact's attributes: JSON, then the five lookup keys.
struct Columns {
    json: String,
    email: Option<String>,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    identifier: Option<String>,
}

fn columns(attributes: &ContactAttributes) -> Result<Columns, StoreError> {
    let keys = attributes.keys();
    Ok(Columns {
        json: serde_json::to_string(attributes)
            .map_err(|e| StoreError::Backend(format!("encoding JSON: {e}")))?,
        email: keys.email,
        phone: keys.phone,
        first_name: keys.first_name,
        last_name: keys.last_name,
        identifier: attributes.get(IDENTIFIER).map(str::to_owned),
    })
}

/// A caller's limit, cut to [`MAX_PAGE`].
fn bounded(limit: u32) -> i64 {
    i64::from(limit.min(MAX_PAGE))
}

/// `text` inside a `LIKE ... ESCAPE '\'` pattern, matching itself anywhere.
fn contains(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The search's patterns: on emails and names, on phones (none when the query has no
/// phone characters), and the exact id.
fn search_patterns(query: &str) -> (String, Option<String>, String) {
    let text = normalize_name(query).unwrap_or_default();
    let phone = normalize_phone(query).map(|p| contains(&p));
    (contains(&text), phone, query.trim().to_owned())
}

macro_rules! contact_store {
    ($store:ty, $reader:ident, $writer:ident, $sql:expr) => {
        impl ContactStore for $store {
            async fn create_contact(&self, contact: &Contact) -> Result<(), StoreError> {
                let cols = columns(&contact.attributes)?;
                sqlx::query($sql.insert)
                    .bind(contact.id.as_str())
                    .bind(&contact.tenant)
                    .bind(&cols.json)
                    .bind(&cols.email)
                    .bind(&cols.phone)
                    .bind(&cols.first_name)
                    .bind(&cols.last_name)
                    .bind(contact.created_at.0)
                    .bind(contact.updated_at.0)
                    .bind(&cols.identifier)
                    .execute(&self.$writer)
                    .await?;
                Ok(())
            }

            async fn contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
                let row: Option<ContactRow> = sqlx::query_as($sql.by_id)
                    .bind(id.as_str())
                    .fetch_optional(&self.$reader)
                    .await?;
                row.map(ContactRow::into_contact).transpose()
            }

            async fn find_by_email(
                &self,
                tenant: &str,
                email: &str,
                limit: u32,
            ) -> Result<Vec<Contact>, StoreError> {
                let Some(key) = normalize_email(email) else {
                    return Ok(Vec::new());
                };
                let rows = sqlx::query_as($sql.by_email)
                    .bind(tenant)
                    .bind(key)
                    .bind(bounded(limit))
                    .fetch_all(&self.$reader)
                    .await?;
                contacts(rows)
            }

            async fn find_by_phone(
                &self,
                tenant: &str,
                phone: &str,
                limit: u32,
            ) -> Result<Vec<Contact>, StoreError> {
                let Some(key) = normalize_phone(phone) else {
                    return Ok(Vec::new());
                };
                let rows = sqlx::query_as($sql.by_phone)
                    .bind(tenant)
                    .bind(key)
                    .bind(bounded(limit))
                    .fetch_all(&self.$reader)
                    .await?;
                contacts(rows)
            }

            async fn find_by_name(
                &self,
                tenant: &str,
                first: &str,
                last: &str,
                limit: u32,
            ) -> Result<Vec<Contact>, StoreError> {
                let (Some(first), Some(last)) = (normalize_name(first), normalize_name(last))
                else {
                    return Ok(Vec::new());
                };
                let rows = sqlx::query_as($sql.by_name)
                    .bind(tenant)
                    .bind(first)
                    .bind(last)
                    .bind(bounded(limit))
                    .fetch_all(&self.$reader)
                    .await?;
                contacts(rows)
            }

            async fn find_by_identifier(
                &self,
                tenant: &str,
                identifier: &str,
                limit: u32,
            ) -> Result<Vec<Contact>, StoreError> {
                let rows = sqlx::query_as($sql.by_identifier)
                    .bind(tenant)
                    .bind(identifier.trim())
                    .bind(bounded(limit))
                    .fetch_all(&self.$reader)
                    .await?;
                contacts(rows)
            }

            async fn update_contact_attributes(
                &self,
                id: &ContactId,
                attributes: &ContactAttributes,
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                let cols = columns(attributes)?;
                let done = sqlx::query($sql.update)
                    .bind(id.as_str())
                    .bind(&cols.json)
                    .bind(&cols.email)
                    .bind(&cols.phone)
                    .bind(&cols.first_name)
                    .bind(&cols.last_name)
                    .bind(now.0)
                    .bind(&cols.identifier)
                    .execute(&self.$writer)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn link_interaction(
                &self,
                contact: &ContactId,
                session: &SessionId,
                now: UnixMillis,
            ) -> Result<bool, StoreError> {
                let link = [(contact.clone(), session.clone(), now)];
                Ok(self.link_interactions(&link).await? > 0)
            }

            async fn link_interactions(
                &self,
                links: &[(ContactId, SessionId, UnixMillis)],
            ) -> Result<usize, StoreError> {
                let mut tx = self.$writer.begin().await?;
                let mut linked = 0;
                for (contact, session, now) in links {
                    let done = sqlx::query(LINK)
                        .bind(session.as_str())
                        .bind(contact.as_str())
                        .bind(now.0)
                        .execute(&mut *tx)
                        .await?;
                    linked += usize::try_from(done.rows_affected()).unwrap_or(usize::MAX);
                }
                tx.commit().await?;
                Ok(linked)
            }

            async fn interaction_contact(
                &self,
                session: &SessionId,
            ) -> Result<Option<ContactId>, StoreError> {
                let id: Option<String> = sqlx::query_scalar(CONTACT_OF)
                    .bind(session.as_str())
                    .fetch_optional(&self.$reader)
                    .await?;
                id.map(|id| {
                    id.parse()
                        .map_err(|e| StoreError::Backend(format!("corrupt contact link: {e}")))
                })
                .transpose()
            }

            async fn search_contacts(
                &self,
                tenant: Option<&str>,
                query: &str,
                limit: u32,
            ) -> Result<Vec<Contact>, StoreError> {
                let (text, phone, id) = search_patterns(query);
                let rows = sqlx::query_as($sql.search)
                    .bind(tenant)
                    .bind(text)
                    .bind(phone)
                    .bind(id)
                    .bind(bounded(limit))
                    .fetch_all(&self.$reader)
                    .await?;
                contacts(rows)
            }

            async fn contact_history(
                &self,
                id: &ContactId,
                limit: u32,
            ) -> Result<Vec<InteractionRecord>, StoreError> {
                let rows: Vec<InteractionRow> = sqlx::query_as($sql.history)
                    .bind(id.as_str())
                    .bind(bounded(limit))
                    .fetch_all(&self.$reader)
                    .await?;
                rows.into_iter().map(InteractionRow::into_record).collect()
            }
        }
    };
}

contact_store!(SqliteStore, reader, writer, SQLITE);
contact_store!(PgStore, pool, pool, POSTGRES);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_escape_wildcards_and_normalise() {
        let (text, phone, id) = search_patterns("  100%_Sure\\ ");
        assert_eq!(text, "%100\\%\\_sure\\\\%");
        assert_eq!(phone.as_deref(), Some("%100\\%\\_Sure\\\\%"));
        assert_eq!(id, "100%_Sure\\");
        let (text, phone, _) = search_patterns("");
        assert_eq!((text.as_str(), phone), ("%%", None));
        assert_eq!(bounded(u32::MAX), i64::from(MAX_PAGE));
    }
}
