-- Cluster-wide routing (docs/ha.md, "Cluster-wide routing"): one instance of the cluster
-- runs the router for everyone while it holds the lease named 'routing'; the epoch
-- goes up each time the lease changes hands and fences a deposed leader's reads of the
-- bus.
CREATE TABLE leader_leases (
    name        TEXT   NOT NULL PRIMARY KEY,
    instance    TEXT   NOT NULL,
    epoch       BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);

-- The routing bus between instances: inputs to the leader (target 'leader') and the
-- leader's outputs to each instance (target = its instance id). A reader takes its rows
-- in id order and deletes them; NOTIFY parley_bus wakes it.
CREATE TABLE routing_bus (
    id         INTEGER   NOT NULL PRIMARY KEY AUTOINCREMENT,
    target     TEXT      NOT NULL,
    epoch      BIGINT    NOT NULL,
    payload    TEXT      NOT NULL,
    created_at BIGINT    NOT NULL
);

CREATE INDEX routing_bus_target ON routing_bus (target, id);
CREATE INDEX routing_bus_created ON routing_bus (created_at);
