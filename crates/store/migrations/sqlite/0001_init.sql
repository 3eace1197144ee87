-- Parley schema, SQLite dialect. Numbered in lockstep with migrations/postgres/.
-- Times are Unix milliseconds (INTEGER); JSON is TEXT written by serde_json.

-- One row per chat session: what a restoration needs, plus its ownership (owner, epoch,
-- lease_until) for fencing. last_event_id is the high-water mark of allocated event ids,
-- transient events included, so ids are never reused after a restoration.
CREATE TABLE sessions (
    id            TEXT    NOT NULL PRIMARY KEY,
    created_at    INTEGER NOT NULL,
    tenant        TEXT    NOT NULL,
    endpoint      TEXT    NOT NULL,
    queue         TEXT    NOT NULL,
    subject       TEXT,
    user_data     TEXT    NOT NULL,              -- JSON object
    password      TEXT,
    state         TEXT    NOT NULL CHECK (state IN ('alive', 'closed')),
    owner         TEXT    NOT NULL,
    epoch         INTEGER NOT NULL,
    lease_until   INTEGER NOT NULL,
    last_event_id INTEGER NOT NULL
);

-- Lease renewal and release touch every live session of one owner, every few seconds.
-- lease_until itself is deliberately not indexed: it changes on every renewal.
CREATE INDEX sessions_owner_state ON sessions (owner, state);

-- The kept transcript events of live sessions, one row each. payload is the whole
-- parley_core::Event as JSON; at, kind and from_party are copies for ad-hoc queries.
CREATE TABLE events (
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    event_id   INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    from_party TEXT    NOT NULL,
    payload    TEXT    NOT NULL,                 -- JSON of parley_core::Event
    PRIMARY KEY (session_id, event_id)
);

-- The contact-history entry of each session (same id). It has no foreign key to
-- sessions: interaction records are kept after session rows are purged.
CREATE TABLE interactions (
    id         TEXT    NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL,
    closed_at  INTEGER,
    tenant     TEXT    NOT NULL,
    endpoint   TEXT    NOT NULL,
    queue      TEXT    NOT NULL,
    subject    TEXT,
    user_data  TEXT    NOT NULL,                 -- JSON object
    state      TEXT    NOT NULL CHECK (state IN ('alive', 'closed')),
    end_info   TEXT,                             -- JSON of parley_core::session::EndInfo
    transcript TEXT                              -- JSON array of parley_core::Event
);

-- Contact-history listings per tenant, newest first, and retention purges by age.
CREATE INDEX interactions_tenant_created ON interactions (tenant, created_at);
CREATE INDEX interactions_closed_at ON interactions (closed_at) WHERE closed_at IS NOT NULL;
