-- The contact center (Parley's routing, agent directory and admin API).

-- Agents and supervisors who log in to the desktop (Genesys Configuration Server's
-- persons). source 'config' rows are rewritten from [agents.<login>] at every start and
-- are read-only through the admin API; 'admin' rows are the admin API's. password_hash is
-- an argon2 PHC string, never the password.
CREATE TABLE agents (
    login         TEXT    NOT NULL PRIMARY KEY,
    nickname      TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('agent', 'supervisor')),
    queues        JSON    NOT NULL,
    capacity      INTEGER NOT NULL,
    password_hash TEXT    NOT NULL,
    source        TEXT    NOT NULL CHECK (source IN ('config', 'admin')),
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- Interaction properties (Interaction Server's attached data that is not the customer's
-- user data: routing state, ESP UpdateProperties): a JSON object of strings.
ALTER TABLE interactions ADD COLUMN properties JSON NOT NULL DEFAULT '{}';

-- Admin listings, newest first: all, by queue, and the live ones (few at any time).
CREATE INDEX interactions_created ON interactions (created_at);
CREATE INDEX interactions_queue_created ON interactions (queue, created_at);
CREATE INDEX interactions_alive_created ON interactions (created_at) WHERE state = 'alive';
