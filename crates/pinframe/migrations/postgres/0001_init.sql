-- The service's own records, in its schema (pinframe_service). No PIN is ever stored here: PINs
-- live in the CMS. Times are Unix seconds; token and PAN columns hold hashes and sealed values only.
CREATE TABLE issuers (
    id               TEXT    PRIMARY KEY,
    client_id        TEXT    NOT NULL UNIQUE,
    secret_hash      TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    pin_min_length   BIGINT  NOT NULL DEFAULT 4,
    pin_max_length   BIGINT  NOT NULL DEFAULT 6,
    pin_forbid_years BOOLEAN NOT NULL DEFAULT FALSE
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
    pan_sealed  BYTEA  NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer_id, card_id),
    FOREIGN KEY (issuer_id, consumer_id) REFERENCES consumers (issuer_id, consumer_id) ON DELETE CASCADE
);

CREATE TABLE pin_tokens (
    token_hash         BYTEA   PRIMARY KEY,
    issuer_id          TEXT    NOT NULL,
    card_id            TEXT    NOT NULL,
    action             TEXT    NOT NULL,
    parent_origin      TEXT,
    language           TEXT,
    created_at         BIGINT  NOT NULL,
    expires_at         BIGINT  NOT NULL,
    used_at            BIGINT,
    attempts           BIGINT  NOT NULL DEFAULT 0,
    hide_after_seconds BIGINT,
    allow_copy         BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX pin_tokens_expires_at ON pin_tokens (expires_at);

-- Issuer themes (the checked CSS the widget page links) and the fonts they may use.
CREATE TABLE issuer_themes (
    issuer_id  TEXT   PRIMARY KEY REFERENCES issuers (id) ON DELETE CASCADE,
    version    TEXT   NOT NULL,
    css        TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE issuer_fonts (
    issuer_id  TEXT   NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    data       BYTEA  NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (issuer_id, name)
);
