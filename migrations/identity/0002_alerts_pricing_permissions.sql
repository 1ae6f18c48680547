-- Why: the usage/cost and alert REST routes need two new resources, `pricing` and `alerts`; the
-- built-in roles get them here (0001 is applied and never edited). docs/rbac.md is the table.
INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5)
SELECT 'p', 'role:' || role, '*', resource, action, '', ''
FROM (VALUES
    ('owner', 'pricing', 'read'), ('owner', 'pricing', 'write'),
    ('owner', 'alerts', 'read'), ('owner', 'alerts', 'write'),

    ('admin', 'pricing', 'read'), ('admin', 'pricing', 'write'),
    ('admin', 'alerts', 'read'), ('admin', 'alerts', 'write'),

    ('developer', 'pricing', 'read'),
    ('developer', 'alerts', 'read'),

    ('viewer', 'pricing', 'read'),
    ('viewer', 'alerts', 'read'),

    ('auditor', 'pricing', 'read'),
    ('auditor', 'alerts', 'read'),

    ('billing', 'pricing', 'read'), ('billing', 'pricing', 'write'),
    ('billing', 'alerts', 'read')
) AS builtin (role, resource, action)
ON CONFLICT DO NOTHING;
