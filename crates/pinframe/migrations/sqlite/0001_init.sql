-- The service's own records. No PIN is ever stored here: PINs live in the CMS.
-- Times are Unix seconds; token and PAN columns hold hashes and sealed values only.
CREATE TABLE issuers (
    id          TEXT   PRIMARY KEY,
    client_id   TEXT   NOT NULL UNIQUE,
    secret_hash TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE issuer_origins (
    issuer_id TEXT NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    origin    TEXT NOT NULL,
    PRIMARY KEY (issuer_id, origin)
);

CREATE TABLE consumers (
    issuer_id   TEXT   NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    consumer_id TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer_id, consumer_id)
);

CREATE TABLE cards (
    issuer_id   TEXT   NOT NULL,
    card_id     TEXT   NOT NULL,
    consumer_id TEXT   NOT NULL,
    pan_sealed  BLOB   NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer_id, card_id),
    FOREIGN KEY (issuer_id, consumer_id) REFERENCES consumers (issuer_id, consumer_id) ON DELETE CASCADE
);

CREATE TABLE pin_tokens (
    token_hash    BLOB   PRIMARY KEY,
    issuer_id     TEXT   NOT NULL,
    card_id       TEXT   NOT NULL,
    action        TEXT   NOT NULL,
    parent_origin TEXT,
    language      TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);

CREATE INDEX pin_tokens_expires_at ON pin_tokens (expires_at);
