-- Why: alert's periodic rules read spend from the hourly rollup and call stats from the events
-- (docs/alerts.md), and cost serves request-level drill-down (UsageEvents) from the events.
GRANT USAGE ON SCHEMA usage TO keyward_alert;
GRANT SELECT ON usage.rollup_hourly, usage.events TO keyward_alert;
GRANT SELECT ON usage.events TO keyward_cost;
