-- Set PIN: each issuer's PIN policy, and how many refused attempts a token has had.
ALTER TABLE issuers ADD COLUMN pin_min_length INTEGER NOT NULL DEFAULT 4;
ALTER TABLE issuers ADD COLUMN pin_max_length INTEGER NOT NULL DEFAULT 6;
ALTER TABLE issuers ADD COLUMN pin_forbid_years INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pin_tokens ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
