-- Verified visitor identity: the identifier a website vouches for is stored as the
-- contact attribute `Identifier` and looked up exactly (not normalised: identifiers are
-- opaque), before any other attribute. Contacts that already carry the attribute (set
-- through the admin API) get their key now.
ALTER TABLE contacts ADD COLUMN identifier_key TEXT;
UPDATE contacts SET identifier_key = json_extract(attributes, '$.Identifier')
    WHERE json_type(attributes, '$.Identifier') = 'text';
CREATE INDEX contacts_identifier ON contacts (tenant, identifier_key)
    WHERE identifier_key IS NOT NULL;
