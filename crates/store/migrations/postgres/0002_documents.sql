-- Files sent in chat sessions (`[client-file-transfer]`): the bytes live here, never on a
-- path a client names. A document belongs to one session; downloads check that.
CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size        BIGINT NOT NULL,
    content     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX documents_by_session ON documents (session_id);
