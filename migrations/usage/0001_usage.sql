-- Why: the usage schema — raw events (a TimescaleDB hypertable when the extension is installed,
-- native daily range partitions otherwise) plus exact hourly/daily rollups every query reads.

DO $migration$
DECLARE
    ext_schema text;
BEGIN
    SELECT extnamespace::regnamespace::text INTO ext_schema
        FROM pg_extension WHERE extname = 'timescaledb';
    IF ext_schema IS NOT NULL THEN
        -- The service role's search_path is `usage` only; reach the extension's functions.
        PERFORM set_config('search_path', 'usage, ' || ext_schema, true);
        CREATE TABLE usage.events (
            event_id uuid NOT NULL,
            ts timestamptz NOT NULL,
            org_id uuid NOT NULL,
            team_id uuid,
            project_id uuid,
            user_id uuid,
            virtual_key_id uuid,
            provider_key_id uuid,
            provider text NOT NULL,
            model text NOT NULL,
            input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            cached_input_tokens bigint NOT NULL,
            cache_write_5m_tokens bigint NOT NULL,
            cache_write_1h_tokens bigint NOT NULL,
            reasoning_tokens bigint NOT NULL,
            latency_ms integer NOT NULL,
            http_status smallint NOT NULL,
            status text NOT NULL,
            request_id text NOT NULL,
            endpoint text NOT NULL,
            streamed boolean NOT NULL,
            cost_micros bigint NOT NULL,
            priced boolean NOT NULL,
            ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (event_id, ts)
        );
        PERFORM create_hypertable('usage.events', 'ts', chunk_time_interval => INTERVAL '1 day');
        ALTER TABLE usage.events SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'org_id',
            timescaledb.compress_orderby = 'ts DESC, event_id'
        );
        PERFORM add_compression_policy('usage.events', INTERVAL '7 days', if_not_exists => true);
        PERFORM add_retention_policy('usage.events', INTERVAL '400 days', if_not_exists => true);
    ELSE
        CREATE TABLE usage.events (
            event_id uuid NOT NULL,
            ts timestamptz NOT NULL,
            org_id uuid NOT NULL,
            team_id uuid,
            project_id uuid,
            user_id uuid,
            virtual_key_id uuid,
            provider_key_id uuid,
            provider text NOT NULL,
            model text NOT NULL,
            input_tokens bigint NOT NULL,
            output_tokens bigint NOT NULL,
            cached_input_tokens bigint NOT NULL,
            cache_write_5m_tokens bigint NOT NULL,
            cache_write_1h_tokens bigint NOT NULL,
            reasoning_tokens bigint NOT NULL,
            latency_ms integer NOT NULL,
            http_status smallint NOT NULL,
            status text NOT NULL,
            request_id text NOT NULL,
            endpoint text NOT NULL,
            streamed boolean NOT NULL,
            cost_micros bigint NOT NULL,
            priced boolean NOT NULL,
            ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            PRIMARY KEY (event_id, ts)
        ) PARTITION BY RANGE (ts);
    END IF;
END
$migration$;

-- Exact rollups, upserted in the insert's transaction from the rows really inserted.
-- NULLS NOT DISTINCT: an absent dimension (no team, no user …) is one group, not many.
CREATE TABLE usage.rollup_hourly (
    bucket timestamptz NOT NULL,
    org_id uuid NOT NULL,
    team_id uuid,
    project_id uuid,
    user_id uuid,
    virtual_key_id uuid,
    provider_key_id uuid,
    provider text NOT NULL,
    model text NOT NULL,
    requests bigint NOT NULL,
    errors bigint NOT NULL,
    unpriced bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cache_write_5m_tokens bigint NOT NULL,
    cache_write_1h_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    latency_ms_sum bigint NOT NULL,
    cost_micros bigint NOT NULL,
    CONSTRAINT rollup_hourly_key UNIQUE NULLS NOT DISTINCT
        (org_id, bucket, team_id, project_id, user_id, virtual_key_id, provider_key_id, provider, model)
);

CREATE TABLE usage.rollup_daily (LIKE usage.rollup_hourly INCLUDING DEFAULTS);
ALTER TABLE usage.rollup_daily ADD CONSTRAINT rollup_daily_key UNIQUE NULLS NOT DISTINCT
    (org_id, bucket, team_id, project_id, user_id, virtual_key_id, provider_key_id, provider, model);

-- When each org last had usage committed: lets cost re-evaluate only the budgets that moved.
CREATE TABLE usage.org_activity (
    org_id uuid PRIMARY KEY,
    last_ingest_at timestamptz NOT NULL
);

-- Messages that can never be ingested (undecodable, invalid ids, outside retention): kept for
-- inspection instead of being retried forever or silently dropped.
CREATE TABLE usage.rejected (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text,
    reason text NOT NULL,
    payload bytea NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now()
);

-- cost reads the rollups and the activity table, nothing else (DESIGN: read-only grant).
GRANT USAGE ON SCHEMA usage TO keyward_cost;
GRANT SELECT ON usage.rollup_hourly, usage.rollup_daily, usage.org_activity TO keyward_cost;
