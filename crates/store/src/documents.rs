//! Stored files, on both backends. A document is written in its own short transaction
//! (not through the group commit): the upload must be durable before its `file-uploaded`
//! notice, which does go through the group commit, can name it.

use sqlx::Row;

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{Document, DocumentStore, NewDocument, StoreError};

const INSERT: &str = "INSERT INTO documents (id, session_id, name, mime, size, content, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
const SELECT: &str = "SELECT id, session_id, name, mime, content FROM documents WHERE id = $1";
const DELETE: &str = "DELETE FROM documents WHERE id = $1";

fn size_of(doc: &NewDocument) -> Result<i64, StoreError> {
    i64::try_from(doc.content.len()).map_err(|_| StoreError::Backend("document too large".into()))
}

fn document<R: Row>(row: R) -> Result<Document, StoreError>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let session: String = row.try_get("session_id")?;
    Ok(Document {
        id: row.try_get("id")?,
        session: session
            .parse()
            .map_err(|e| StoreError::Backend(format!("corrupt document row: {e}")))?,
        name: row.try_get("name")?,
        mime: row.try_get("mime")?,
        content: row.try_get("content")?,
    })
}

/// The same statements on both backends; only the pools differ (SQLite writes through
/// its single writer connection, reads through its reader pool).
macro_rules! document_store {
    ($store:ty, $writer:ident, $reader:ident) => {
        impl DocumentStore for $store {
            async fn put_document(&self, doc: &NewDocument) -> Result<(), StoreError> {
                sqlx::query(INSERT)
                    .bind(&doc.id)
                    .bind(doc.session.as_str())
                    .bind(&doc.name)
                    .bind(&doc.mime)
                    .bind(size_of(doc)?)
                    .bind(&doc.content)
                    .bind(doc.created_at.0)
                    .execute(&self.$writer)
                    .await?;
                Ok(())
            }

            async fn get_document(&self, id: &str) -> Result<Option<Document>, StoreError> {
                let row = sqlx::query(SELECT)
                    .bind(id)
                    .fetch_optional(&self.$reader)
                    .await?;
                row.map(document).transpose()
            }

            async fn delete_document(&self, id: &str) -> Result<bool, StoreError> {
                let done = sqlx::query(DELETE).bind(id).execute(&self.$writer).await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

document_store!(SqliteStore, writer, reader);
document_store!(PgStore, pool, pool);
