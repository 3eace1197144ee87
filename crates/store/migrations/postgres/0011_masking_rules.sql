-- Masking rules stored per tenant (Genesys keeps them in UCS, managed with Privacy
-- Manager; Parley through the admin API), used when [transcript-cleanup] apply-config is
-- ucs, or mix and the tenant has any. A tenant's rules run in position order (then id);
-- positions need not be contiguous. spec NULL takes default-spec. The regex is checked
-- to compile before it is stored.
CREATE TABLE masking_rules (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    regex       TEXT    NOT NULL,
    spec        TEXT,
    position    BIGINT  NOT NULL,
    enabled     BOOLEAN NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- A rule's name is what pii-cleanup reports and what operators tell rules apart by: one
-- per tenant.
CREATE UNIQUE INDEX masking_rules_name ON masking_rules (tenant, name);
-- A tenant's rules in order.
CREATE INDEX masking_rules_order ON masking_rules (tenant, position, id);
