-- Why: the cost schema — org price overrides (read by usage-ingest to price at ingest), budgets
-- with their per-period state, gateway reservations, and an outbox for budget events.

CREATE TABLE cost.price_overrides (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    effective_from timestamptz NOT NULL,
    -- keyward_pricing::Adjustment as JSON: {"discount_bps": 1500} or {"replace": {...}}.
    adjustment jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, provider, model, effective_from)
);

-- Bumped on every override change; usage-ingest compares it once per batch to know when to
-- rebuild its per-org price books, so a new override applies from the very next batch.
CREATE TABLE cost.price_override_version (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);
INSERT INTO cost.price_override_version (version) VALUES (0);

CREATE TABLE cost.budgets (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL,
    team_id uuid,
    project_id uuid,
    virtual_key_id uuid,
    name text NOT NULL,
    period text NOT NULL CHECK (period IN ('day', 'week', 'month')),
    rolling boolean NOT NULL,
    amount_micros bigint NOT NULL CHECK (amount_micros > 0),
    hard boolean NOT NULL,
    thresholds integer[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budgets_org ON cost.budgets (org_id);

-- The live state of a budget in its current period (calendar) or window (rolling).
-- `notified` holds the thresholds already announced this period, so each crossing is
-- announced exactly once; it is cleared when the period rolls over (or, rolling, when spend
-- falls back under a threshold).
CREATE TABLE cost.budget_state (
    budget_id uuid PRIMARY KEY REFERENCES cost.budgets (id) ON DELETE CASCADE,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    spent_micros bigint NOT NULL,
    notified integer[] NOT NULL DEFAULT '{}',
    exhausted boolean NOT NULL DEFAULT false,
    evaluated_at timestamptz NOT NULL
);

-- In-flight reservations a gateway instance holds against a budget (replaced wholesale by each
-- report; stale after `expires_at`).
CREATE TABLE cost.reservations (
    budget_id uuid NOT NULL REFERENCES cost.budgets (id) ON DELETE CASCADE,
    instance text NOT NULL,
    reserved_micros bigint NOT NULL CHECK (reserved_micros >= 0),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (budget_id, instance)
);

-- Transactional outbox: budget events are written with the state change that causes them and
-- published (with confirms) afterwards; a re-publish after a crash keeps the same event_id.
CREATE TABLE cost.outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    kind text NOT NULL,
    payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- usage-ingest prices events at ingest with the org's overrides (DESIGN: read-only grant).
GRANT USAGE ON SCHEMA cost TO keyward_usage;
GRANT SELECT ON cost.price_overrides, cost.price_override_version TO keyward_usage;
