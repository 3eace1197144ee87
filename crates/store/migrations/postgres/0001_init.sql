-- Parley schema, PostgreSQL dialect. Numbered in lockstep with migrations/sqlite/.
-- Times are Unix milliseconds (BIGINT). JSON columns are `json`, not `jsonb`: `json`
-- keeps the text serde_json wrote, and accepts the \u0000 escape that chat text may
-- carry, which `jsonb` refuses (that would fail a whole group commit).

-- One row per chat session: what a restoration needs, plus its ownership (owner, epoch,
-- lease_until) for fencing. last_event_id is the high-water mark of allocated event ids,
-- transient events included, so ids are never reused after a restoration.
-- The row is updated on every append (last_event_id) and lease renewal; a fill factor
-- below 100 leaves room on the page for those updates to stay HOT (no index churn).
CREATE TABLE sessions (
    id            TEXT   NOT NULL PRIMARY KEY,
    created_at    BIGINT NOT NULL,
    tenant        TEXT   NOT NULL,
    endpoint      TEXT   NOT NULL,
    queue         TEXT   NOT NULL,
    subject       TEXT,
    user_data     JSON   NOT NULL,
    password      TEXT,
    state         TEXT   NOT NULL CHECK (state IN ('alive', 'closed')),
    owner         TEXT   NOT NULL,
    epoch         BIGINT NOT NULL,
    lease_until   BIGINT NOT NULL,
    last_event_id BIGINT NOT NULL
) WITH (fillfactor = 80);

-- Lease renewal and release touch every live session of one owner, every few seconds.
-- lease_until itself is deliberately not indexed: it changes on every renewal, and an
-- index on it would stop those updates from being HOT.
CREATE INDEX sessions_owner_state ON sessions (owner, state);

-- The kept transcript events of live sessions, one row each. payload is the whole
-- parley_core::Event as JSON; at, kind and from_party are copies for ad-hoc queries.
CREATE TABLE events (
    session_id TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    event_id   BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    from_party TEXT   NOT NULL,
    payload    JSON   NOT NULL,
    PRIMARY KEY (session_id, event_id)
);

-- The contact-history entry of each session (same id). It has no foreign key to
-- sessions: interaction records are kept after session rows are purged.
CREATE TABLE interactions (
    id         TEXT   NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    closed_at  BIGINT,
    tenant     TEXT   NOT NULL,
    endpoint   TEXT   NOT NULL,
    queue      TEXT   NOT NULL,
    subject    TEXT,
    user_data  JSON   NOT NULL,
    state      TEXT   NOT NULL CHECK (state IN ('alive', 'closed')),
    end_info   JSON,
    transcript JSON
);

-- Contact-history listings per tenant, newest first, and retention purges by age.
CREATE INDEX interactions_tenant_created ON interactions (tenant, created_at);
CREATE INDEX interactions_closed_at ON interactions (closed_at) WHERE closed_at IS NOT NULL;
