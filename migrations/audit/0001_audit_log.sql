-- Why: the audit trail is an append-only, per-org hash chain with signed checkpoints; personal data sits in erasable side tables so GDPR erasure never breaks a chain.

-- The head of each org's chain: the seq and hash the next append links to. Every writer locks
-- this row FOR UPDATE, so a chain has one writer at a time and its order is total.
CREATE TABLE chain_heads (
    org_id         uuid PRIMARY KEY,
    seq            bigint NOT NULL DEFAULT 0 CHECK (seq >= 0),
    hash           bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
    checkpoint_seq bigint NOT NULL DEFAULT 0,
    checkpoint_at  timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per audit event. `hash = SHA-256(prev_hash || canonical encoding)`; see docs/audit.md.
-- For subjects (people), `actor_id` is empty and `subject_id` holds the pseudonym instead.
CREATE TABLE entries (
    org_id        uuid        NOT NULL,
    seq           bigint      NOT NULL CHECK (seq > 0),
    format        smallint    NOT NULL,
    event_id      uuid        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL,
    actor_kind    integer     NOT NULL,
    actor_id      text        NOT NULL,
    subject_id    bytea,
    action        text        NOT NULL,
    resource_type text        NOT NULL,
    resource_id   text        NOT NULL,
    outcome       text        NOT NULL,
    reason        text        NOT NULL,
    request_id    text        NOT NULL,
    service       text        NOT NULL,
    before_json   text        NOT NULL,
    after_json    text        NOT NULL,
    prev_hash     bytea       NOT NULL,
    hash          bytea       NOT NULL,
    PRIMARY KEY (org_id, seq)
);
-- Re-analyze often: page plans (a backward primary-key scan) rely on knowing how long chains are.
ALTER TABLE entries SET (autovacuum_analyze_scale_factor = 0.02);
-- Idempotency: one entry per event id, whatever the number of deliveries.
CREATE UNIQUE INDEX entries_event_id ON entries (event_id);
CREATE INDEX entries_actor ON entries (org_id, actor_id, seq) WHERE actor_id <> '';
CREATE INDEX entries_subject ON entries (org_id, subject_id, seq) WHERE subject_id IS NOT NULL;
CREATE INDEX entries_resource ON entries (org_id, resource_id, seq) WHERE resource_id <> '';

-- Ed25519 signatures over (org, seq, hash, signed_at) of a chain head.
CREATE TABLE checkpoints (
    org_id     uuid        NOT NULL,
    seq        bigint      NOT NULL CHECK (seq > 0),
    hash       bytea       NOT NULL,
    signed_at  timestamptz NOT NULL,
    signature  bytea       NOT NULL,
    public_key bytea       NOT NULL,
    PRIMARY KEY (org_id, seq)
);

-- A person behind entries: the natural id (actor id) and the per-subject HMAC key that derives
-- the pseudonym stored in `entries.subject_id`. Erasure deletes this row.
CREATE TABLE subjects (
    org_id     uuid        NOT NULL,
    subject_id bytea       NOT NULL,
    actor_id   text        NOT NULL,
    key        bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, subject_id),
    UNIQUE (org_id, actor_id)
);

-- Personal values of one entry (e-mail, IP address); they go with their subject on erasure.
CREATE TABLE subject_data (
    org_id     uuid   NOT NULL,
    seq        bigint NOT NULL,
    subject_id bytea  NOT NULL,
    email      text,
    ip         text,
    PRIMARY KEY (org_id, seq),
    FOREIGN KEY (org_id, subject_id) REFERENCES subjects (org_id, subject_id) ON DELETE CASCADE
);
CREATE INDEX subject_data_subject ON subject_data (org_id, subject_id);

-- Retention in days per org; the nil-UUID row is the default, written from config at start.
CREATE TABLE retention_policies (
    org_id     uuid        PRIMARY KEY,
    days       integer     NOT NULL CHECK (days >= 1),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Messages that could not be decoded or validated: kept, never silently dropped.
CREATE TABLE rejected_events (
    id          bigserial   PRIMARY KEY,
    message_id  text,
    reason      text        NOT NULL,
    payload     bytea       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- The retention period of an org, in days.
CREATE FUNCTION retention_days(p_org uuid) RETURNS integer
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT COALESCE(
        (SELECT days FROM retention_policies WHERE org_id = p_org),
        (SELECT days FROM retention_policies WHERE org_id = '00000000-0000-0000-0000-000000000000'),
        400)
$$;

-- Rejects the change outright: entries and checkpoints are never rewritten.
CREATE FUNCTION forbid_change() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    RAISE EXCEPTION 'audit.% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

-- Each deleted entry must be older than its org's retention period.
CREATE FUNCTION guard_entry_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF OLD.recorded_at >= now() - make_interval(days => retention_days(OLD.org_id)) THEN
        RAISE EXCEPTION 'audit entry % of org % is within its retention period', OLD.seq, OLD.org_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END
$$;

-- And a delete must remove a prefix of each chain that ends exactly at a checkpoint, so the
-- remaining chain starts right after a signed checkpoint and verifies from it.
CREATE FUNCTION guard_entry_prune() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT g.org_id, max(g.seq) AS through FROM gone g GROUP BY g.org_id LOOP
        IF EXISTS (SELECT 1 FROM entries e WHERE e.org_id = r.org_id AND e.seq < r.through) THEN
            RAISE EXCEPTION 'audit entries of org % can only be deleted oldest first', r.org_id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.org_id = r.org_id AND c.seq = r.through) THEN
            RAISE EXCEPTION 'audit entries of org % can only be deleted up to a signed checkpoint (no checkpoint at seq %)',
                r.org_id, r.through
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
CREATE TRIGGER entries_guard_delete BEFORE DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION guard_entry_delete();
CREATE TRIGGER entries_guard_prune AFTER DELETE ON entries REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION guard_entry_prune();
CREATE TRIGGER checkpoints_no_change BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- The service role owns these tables (it runs the migrations), and drops its own right to
-- rewrite them; the triggers above hold even for a role that grants itself the right back.
REVOKE UPDATE, DELETE, TRUNCATE ON entries, checkpoints FROM CURRENT_USER;

-- Retention: deletes an org's entries up to `p_through` (a checkpointed seq). DELETE is lent
-- back for this statement inside the caller's transaction and revoked again before it commits,
-- so no other session ever sees the grant; the guard triggers still check every row.
CREATE FUNCTION prune_entries(p_org uuid, p_through bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    n bigint;
BEGIN
    GRANT DELETE ON entries TO CURRENT_USER;
    DELETE FROM subject_data WHERE org_id = p_org AND seq <= p_through;
    DELETE FROM entries WHERE org_id = p_org AND seq <= p_through;
    GET DIAGNOSTICS n = ROW_COUNT;
    REVOKE DELETE ON entries FROM CURRENT_USER;
    RETURN n;
END
$$;
