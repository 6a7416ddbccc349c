-- The audit trail: one row per security event, in one HMAC chain per replica (see docs/deploy.md,
-- "Audit trail"). The service only ever inserts rows, and deletes whole oldest prefixes of a chain
-- for retention. (replica, seq) is the primary key: two processes given the same replica id
-- collide on it instead of forking a chain. Never a PIN, token, key or PAN.
CREATE TABLE audit_log (
    replica        TEXT    NOT NULL,
    seq            BIGINT  NOT NULL,
    at             BIGINT  NOT NULL,
    event          TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    issuer_id      TEXT,
    card_id        TEXT,
    client_id      TEXT,
    source         TEXT,
    correlation_id TEXT,
    detail         TEXT,
    prev_mac       BLOB    NOT NULL,
    mac            BLOB    NOT NULL,
    PRIMARY KEY (replica, seq)
);

CREATE INDEX audit_log_at ON audit_log (at);

-- Whether a token that expired unused has had its audit record: set by the one replica whose
-- UPDATE reached it first.
ALTER TABLE pin_tokens ADD COLUMN expiry_noted INTEGER NOT NULL DEFAULT 0;
