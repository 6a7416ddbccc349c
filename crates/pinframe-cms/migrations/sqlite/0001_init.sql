-- The reference CMS: each card's PIN block, sealed with AES-256-GCM under the key-encryption key,
-- and the PIN change counter, which moves in the same statement as the block.
CREATE TABLE cms_pins (
    issuer_id      TEXT   NOT NULL,
    card_id        TEXT   NOT NULL,
    block_type     TEXT   NOT NULL,
    block_sealed   BLOB   NOT NULL,
    change_counter BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (issuer_id, card_id)
);
