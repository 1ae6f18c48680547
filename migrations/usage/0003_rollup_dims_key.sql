-- Why: rollup upserts were bound by their 9-column NULLS NOT DISTINCT conflict index, and 30-day
-- breakdowns by heap reads of the daily rollup (bench/RESULTS.md): a 16-byte hash of the
-- dimensions becomes the conflict key (org_id, bucket, dims_key), the daily rollup's key index
-- carries every column so breakdowns are index-only scans of one org's range, and multi-column
-- statistics tell the planner how few groups a breakdown has (hash aggregation, no big sorts).

-- SHA-256 (truncated to 16 bytes) of an unambiguous encoding of a rollup group's dimensions: ids
-- are fixed-width text or '-' when absent, the provider is length-prefixed so no provider/model
-- pair can spell another. STABLE only because convert_to is; the value never changes.
CREATE FUNCTION usage.dims_key(
    team_id uuid, project_id uuid, user_id uuid, virtual_key_id uuid, provider_key_id uuid,
    provider text, model text
) RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT encode(substr(sha256(convert_to(
        coalesce(team_id::text, '-') || '|' || coalesce(project_id::text, '-') || '|' ||
        coalesce(user_id::text, '-') || '|' || coalesce(virtual_key_id::text, '-') || '|' ||
        coalesce(provider_key_id::text, '-') || '|' || length(provider) || ':' || provider ||
        model, 'UTF8')), 1, 16), 'hex')::uuid
$$;

ALTER TABLE usage.rollup_hourly ADD COLUMN dims_key uuid;
UPDATE usage.rollup_hourly SET dims_key = usage.dims_key(team_id, project_id, user_id,
    virtual_key_id, provider_key_id, provider, model);
ALTER TABLE usage.rollup_hourly ALTER COLUMN dims_key SET NOT NULL,
    DROP CONSTRAINT rollup_hourly_key,
    ADD CONSTRAINT rollup_hourly_dims UNIQUE (org_id, bucket, dims_key);

ALTER TABLE usage.rollup_daily ADD COLUMN dims_key uuid;
UPDATE usage.rollup_daily SET dims_key = usage.dims_key(team_id, project_id, user_id,
    virtual_key_id, provider_key_id, provider, model);
ALTER TABLE usage.rollup_daily ALTER COLUMN dims_key SET NOT NULL,
    DROP CONSTRAINT rollup_daily_key,
    ADD CONSTRAINT rollup_daily_dims UNIQUE (org_id, bucket, dims_key) INCLUDE (team_id,
        project_id, user_id, virtual_key_id, provider_key_id, provider, model, requests, errors,
        unpriced, input_tokens, output_tokens, cached_input_tokens, cache_write_5m_tokens,
        cache_write_1h_tokens, reasoning_tokens, latency_ms_sum, cost_micros);

-- A breakdown groups one org's rows by 1-3 dimensions; per-column statistics multiply into
-- estimates of tens of thousands of groups where there are hundreds.
CREATE STATISTICS usage.rollup_hourly_groups (ndistinct) ON team_id, project_id, user_id,
    virtual_key_id, provider_key_id, provider, model FROM usage.rollup_hourly;
CREATE STATISTICS usage.rollup_daily_groups (ndistinct) ON team_id, project_id, user_id,
    virtual_key_id, provider_key_id, provider, model FROM usage.rollup_daily;
