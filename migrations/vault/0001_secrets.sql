-- Why: the vault's sealed secrets (provider keys and channel credentials), their versions, the
-- KEK versions that wrap their data keys, and per-org monitoring settings.

CREATE TABLE kek_versions (
    version      integer PRIMARY KEY CHECK (version > 0),
    -- Fingerprint of the key material: a restarted vault with a different KEK for a known
    -- version refuses to start instead of failing every open.
    fingerprint  text NOT NULL,
    state        text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'retired')),
    -- Data keys wrapped under this version (AES-GCM random-nonce budget).
    wraps        bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz
);

CREATE TABLE secrets (
    id                    uuid PRIMARY KEY,
    org_id                uuid NOT NULL,
    team_id               uuid,
    project_id            uuid,
    user_id               uuid,
    kind                  text NOT NULL CHECK (kind IN ('provider_key', 'channel_credential')),
    provider              text NOT NULL,
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    tags                  jsonb NOT NULL DEFAULT '{}'::jsonb,
    base_url              text,
    status                text NOT NULL CHECK (status IN ('active', 'revoked', 'expired', 'deleted')),
    health                text NOT NULL DEFAULT 'unspecified',
    health_message        text,
    current_version       integer NOT NULL DEFAULT 1,
    masked                text NOT NULL,
    fingerprint           text NOT NULL,
    priority              integer NOT NULL DEFAULT 0,
    weight                integer NOT NULL DEFAULT 1 CHECK (weight > 0),
    rotation_period_days  integer NOT NULL DEFAULT 90,
    rotated_at            timestamptz NOT NULL DEFAULT now(),
    rotation_notice       smallint NOT NULL DEFAULT 0,
    expiry_notice_sent    boolean NOT NULL DEFAULT false,
    expires_at            timestamptz,
    access_flagged        boolean NOT NULL DEFAULT false,
    created_by            text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    last_used_at          timestamptz,
    last_validated_at     timestamptz
);

-- Resolve: the live keys of one provider in one org.
CREATE INDEX secrets_resolve ON secrets (org_id, provider, kind) WHERE status = 'active';
-- Names are unique among an org's live secrets of one kind.
CREATE UNIQUE INDEX secrets_live_name ON secrets (org_id, kind, name) WHERE status = 'active';

-- One row per secret version. AAD binds (org, secret id, provider, version), so a row's
-- ciphertext only opens in its own place. Crypto-erase sets the sealed columns to NULL.
CREATE TABLE secret_versions (
    secret_id     uuid NOT NULL REFERENCES secrets (id),
    version       integer NOT NULL,
    state         text NOT NULL CHECK (state IN ('current', 'grace', 'revoked', 'erased')),
    grace_until   timestamptz,
    ciphertext    bytea,
    nonce         bytea,
    wrapped_dek   bytea,
    dek_nonce     bytea,
    kek_version   integer REFERENCES kek_versions (version),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (secret_id, version),
    CHECK ((state = 'erased') = (ciphertext IS NULL))
);

-- Rewrap finds data keys still under an old KEK version.
CREATE INDEX secret_versions_kek ON secret_versions (kek_version) WHERE ciphertext IS NOT NULL;
-- Grace expiry.
CREATE INDEX secret_versions_grace ON secret_versions (grace_until) WHERE state = 'grace';

-- Per-org anomaly thresholds and rotation policy; absent rows use the service defaults.
CREATE TABLE org_settings (
    org_id              uuid PRIMARY KEY,
    resolves_per_minute bigint,
    resolves_per_hour   bigint,
    resolves_per_day    bigint,
    rotation_warn_days  integer,
    rotation_due_days   integer,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Resolve counts per key and window start, flushed from memory every few seconds.
CREATE TABLE access_counts (
    secret_id     uuid NOT NULL REFERENCES secrets (id),
    bucket        text NOT NULL CHECK (bucket IN ('minute', 'hour', 'day')),
    window_start  timestamptz NOT NULL,
    count         bigint NOT NULL,
    PRIMARY KEY (secret_id, bucket, window_start)
);
