-- Contacts (Genesys UCS's role): who the customer of a chat is, across chats.
-- attributes is the JSON object of every stored attribute (EmailAddress, PhoneNumber,
-- FirstName, LastName, ...). The *_key columns hold the values as matching compares them
-- (parley_core::contacts::normalize_*), NULL when absent, so each lookup of the search
-- order (email, then phone, then first + last name) is an index probe within a tenant.
CREATE TABLE contacts (
    id             TEXT    NOT NULL PRIMARY KEY,
    tenant         TEXT    NOT NULL,
    attributes     JSON    NOT NULL,
    email_key      TEXT,
    phone_key      TEXT,
    first_name_key TEXT,
    last_name_key  TEXT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX contacts_email ON contacts (tenant, email_key) WHERE email_key IS NOT NULL;
CREATE INDEX contacts_phone ON contacts (tenant, phone_key) WHERE phone_key IS NOT NULL;
CREATE INDEX contacts_name ON contacts (tenant, first_name_key, last_name_key);
-- A last name given without a first name.
CREATE INDEX contacts_last_name ON contacts (tenant, last_name_key);
-- Admin listings, newest first.
CREATE INDEX contacts_tenant_created ON contacts (tenant, created_at);

-- Which contact each interaction belongs to (one at most; relinking moves it). No foreign
-- key to interactions: a link may be written before the interaction record, and the
-- history lists only linked interactions that have a record.
CREATE TABLE contact_interactions (
    session_id TEXT    NOT NULL PRIMARY KEY,
    contact_id TEXT    NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    linked_at  BIGINT  NOT NULL
);
CREATE INDEX contact_interactions_by_contact ON contact_interactions (contact_id);
