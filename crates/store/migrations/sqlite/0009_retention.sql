-- Retention and erasure (docs/security.md, "Retention and erasure").

-- When the retention purge removed a closed interaction's transcript (its event rows and
-- the final transcript) and its files; NULL while they are kept.
ALTER TABLE interactions ADD COLUMN transcript_purged_at INTEGER;
ALTER TABLE interactions ADD COLUMN files_purged_at INTEGER;

-- What each purge takes next, per tenant, oldest close first. Each index holds only the
-- closed interactions that still have what its purge removes, so a pass reads the head
-- of its index and never scans again what earlier passes handled (or live chats).
-- They replace the index on closed_at alone, which could not tell tenants apart.
DROP INDEX interactions_closed_at;
CREATE INDEX interactions_purge_records ON interactions (tenant, closed_at, id)
    WHERE state = 'closed';
CREATE INDEX interactions_purge_transcripts ON interactions (tenant, closed_at, id)
    WHERE state = 'closed' AND transcript_purged_at IS NULL;
CREATE INDEX interactions_purge_files ON interactions (tenant, closed_at, id)
    WHERE state = 'closed' AND files_purged_at IS NULL;

-- One audit record per erased contact: who erased it, when, and how much went, never
-- what it was (no attributes, no transcript text, no file names). erased_by is the
-- fingerprint of the admin key used; reference is the caller's ticket number, if any.
CREATE TABLE erasures (
    contact_id   TEXT    NOT NULL PRIMARY KEY,
    tenant       TEXT    NOT NULL,
    erased_at    INTEGER NOT NULL,
    erased_by    TEXT    NOT NULL,
    reference    TEXT,
    interactions INTEGER NOT NULL,
    events       INTEGER NOT NULL,
    files        INTEGER NOT NULL,
    file_bytes   INTEGER NOT NULL
);

-- Admin listings, newest first.
CREATE INDEX erasures_erased_at ON erasures (erased_at);
