-- Why: alert rules, channels (their secrets live in the vault), fired alerts, deliveries with
-- their attempt log, processed event ids (idempotent consumption) and the audit outbox.

-- Orgs whose default rules were created (once: a deleted default rule stays deleted).
CREATE TABLE orgs (
    org_id     uuid PRIMARY KEY,
    seeded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE channels (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind         text NOT NULL CHECK (kind IN ('webhook', 'slack', 'email', 'pagerduty')),
    settings     jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- The vault key (kind channel_credential) holding this channel's secrets.
    secret_ref   uuid,
    secret_hint  text NOT NULL DEFAULT '',
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE UNIQUE INDEX channels_org_name ON channels (org_id, lower(name)) WHERE deleted_at IS NULL;

CREATE TABLE rules (
    id                      uuid PRIMARY KEY,
    org_id                  uuid NOT NULL,
    name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    rule_type               text NOT NULL CHECK (rule_type IN ('budget', 'key_health', 'access_anomaly',
                                                              'spend_spike', 'error_rate', 'latency_p95')),
    team_id                 uuid,
    project_id              uuid,
    user_id                 uuid,
    virtual_key_id          uuid,
    conditions              jsonb NOT NULL DEFAULT '{}'::jsonb,
    severity                text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    channel_ids             uuid[] NOT NULL DEFAULT '{}',
    escalation_channel_ids  uuid[] NOT NULL DEFAULT '{}',
    escalate_after_secs     integer NOT NULL DEFAULT 0 CHECK (escalate_after_secs >= 0),
    dedup_window_secs       integer NOT NULL DEFAULT 3600 CHECK (dedup_window_secs >= 0),
    silences                jsonb NOT NULL DEFAULT '[]'::jsonb,
    enabled                 boolean NOT NULL DEFAULT true,
    is_default              boolean NOT NULL DEFAULT false,
    -- Periodic rules: when a replica should evaluate this rule next (claimed with SKIP LOCKED).
    next_eval_at            timestamptz NOT NULL DEFAULT now(),
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz
);
CREATE INDEX rules_org_type ON rules (org_id, rule_type) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX rules_org_name ON rules (org_id, lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX rules_periodic_due ON rules (next_eval_at)
    WHERE deleted_at IS NULL AND enabled AND rule_type IN ('spend_spike', 'error_rate', 'latency_p95');

CREATE TABLE alerts (
    id                uuid PRIMARY KEY,
    org_id            uuid NOT NULL,
    rule_id           uuid NOT NULL REFERENCES rules (id),
    rule_name         text NOT NULL,
    rule_type         text NOT NULL,
    fingerprint       text NOT NULL,
    state             text NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved', 'snoozed')),
    severity          text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    -- Budget alerts: the highest percent crossed; a higher one notifies again.
    level             integer NOT NULL DEFAULT 0,
    title             text NOT NULL,
    detail            text NOT NULL DEFAULT '',
    labels            jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurrences       integer NOT NULL DEFAULT 1,
    fired_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at      timestamptz NOT NULL DEFAULT now(),
    last_notified_at  timestamptz,
    acknowledged_at   timestamptz,
    acknowledged_by   text NOT NULL DEFAULT '',
    resolved_at       timestamptz,
    resolved_by       text NOT NULL DEFAULT '',
    snoozed_until     timestamptz,
    escalation_level  integer NOT NULL DEFAULT 0,
    escalate_at       timestamptz,
    silenced          boolean NOT NULL DEFAULT false,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- At most one open alert per fingerprint: concurrent events fold into it.
CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts (org_id, fingerprint) WHERE state <> 'resolved';
CREATE INDEX alerts_fingerprint_recent ON alerts (org_id, fingerprint, fired_at DESC);
CREATE INDEX alerts_history ON alerts (org_id, fired_at DESC, id DESC);
CREATE INDEX alerts_escalate_due ON alerts (escalate_at) WHERE state = 'firing' AND escalate_at IS NOT NULL;
CREATE INDEX alerts_snooze_due ON alerts (snoozed_until) WHERE state = 'snoozed';

CREATE TABLE deliveries (
    id                uuid PRIMARY KEY,
    org_id            uuid NOT NULL,
    alert_id          uuid REFERENCES alerts (id),
    channel_id        uuid NOT NULL REFERENCES channels (id),
    channel_kind      text NOT NULL,
    reason            text NOT NULL CHECK (reason IN ('fired', 'refired', 'escalation', 'reminder', 'test')),
    status            text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL CHECK (max_attempts > 0),
    -- Pending: when the next attempt may start. An attempt in flight pushes it out by a lease,
    -- so a replica that dies mid-send leaves the delivery to be retried, not lost.
    next_attempt_at   timestamptz,
    last_error        text NOT NULL DEFAULT '',
    last_http_status  integer NOT NULL DEFAULT 0,
    -- The notification's content, fixed when it was queued.
    payload           jsonb NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_log ON deliveries (org_id, created_at DESC, id DESC);
CREATE INDEX deliveries_alert ON deliveries (alert_id);

CREATE TABLE delivery_attempts (
    delivery_id  uuid NOT NULL REFERENCES deliveries (id),
    attempt      integer NOT NULL,
    started_at   timestamptz NOT NULL,
    duration_ms  integer NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    http_status  integer NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, attempt)
);

-- Domain events already handled, so a redelivered event changes nothing.
CREATE TABLE processed_events (
    event_id      text PRIMARY KEY,
    processed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_events_age ON processed_events (processed_at);

-- Audit events written in the same transaction as the change they describe, published with
-- broker confirms and then deleted: no state change goes unaudited, even across a crash.
CREATE TABLE audit_outbox (
    seq         bigserial PRIMARY KEY,
    event       bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
