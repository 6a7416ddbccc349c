-- Issuer themes (the checked CSS the widget page links), the fonts they may use, and how a token's
-- PIN is shown (auto-hide time, whether copying is allowed).
CREATE TABLE issuer_themes (
    issuer_id  TEXT   PRIMARY KEY REFERENCES issuers (id) ON DELETE CASCADE,
    version    TEXT   NOT NULL,
    css        TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE issuer_fonts (
    issuer_id  TEXT   NOT NULL REFERENCES issuers (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    data       BLOB   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (issuer_id, name)
);

ALTER TABLE pin_tokens ADD COLUMN hide_after_seconds INTEGER;
ALTER TABLE pin_tokens ADD COLUMN allow_copy INTEGER NOT NULL DEFAULT 0;
