-- Bench data: events $1..$2 of $3 spread evenly over the 30 days from $4. 10 orgs, 50 teams,
-- 200 projects, 2,000 users (each in one team and project), 2 virtual keys per user, 4 provider
-- keys per org, 4 providers x 5 models; deterministic pseudo-random tokens; 2% errors.
INSERT INTO usage.events (event_id, ts, org_id, team_id, project_id, user_id, virtual_key_id,
    provider_key_id, provider, model, input_tokens, output_tokens, cached_input_tokens,
    cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, latency_ms, http_status,
    status, request_id, endpoint, streamed, cost_micros, priced, ingested_at)
SELECT gen_random_uuid(), t, md5('org' || u % 10)::uuid, md5('team' || u % 50)::uuid,
    md5('project' || u % 200)::uuid, md5('user' || u)::uuid, md5('vk' || u || '-' || i % 2)::uuid,
    md5('pk' || u % 10 || '-' || m % 4)::uuid,
    (ARRAY['openai', 'anthropic', 'gemini', 'mistral'])[m % 4 + 1], 'model-' || m,
    tin, tout, tin / 10, 0, 0, 0, 200 + i % 800, CASE WHEN i % 50 = 0 THEN 500 ELSE 200 END,
    CASE WHEN i % 50 = 0 THEN 'error' ELSE 'ok' END, 'req-' || i, 'chat', i % 2 = 0,
    tin * 2 + tout * 8, true, t
FROM (
    SELECT i, (i * 7919) % 2000 AS u, (i / 7) % 20 AS m,
        $4::timestamptz + (i::float8 / $3) * interval '30 days' AS t,
        200 + (i * 37) % 4000 AS tin, 20 + (i * 13) % 900 AS tout
    FROM generate_series($1::bigint, $2::bigint - 1) AS i
) g
