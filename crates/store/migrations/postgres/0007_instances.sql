-- The instances of a cluster, so that an instance reached for a session another one
-- holds can forward the request to the owner (docs/ha.md, "Any instance answers any
-- client"). Each row is renewed with the instance's session leases; a row whose lease
-- has lapsed is a dead (or stopped) instance and is not used.
CREATE TABLE instances (
    id          TEXT   NOT NULL PRIMARY KEY,
    url         TEXT   NOT NULL,
    lease_until BIGINT NOT NULL
);

-- The secret the instances sign forwarded requests with (hex of 32 bytes from the OS
-- CSPRNG), created by the first instance: whoever can read this database is already
-- trusted with every chat in it. One row at most.
CREATE TABLE cluster_secret (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    secret TEXT    NOT NULL
);
