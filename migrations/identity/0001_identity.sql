-- Identity: organizations, people, teams, projects, credentials and the Casbin policy store of the API gateway.

CREATE TABLE orgs (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Owners and admins must sign in with a TOTP code.
    require_totp boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX orgs_name_key ON orgs (lower(name));

CREATE TABLE users (
    id uuid PRIMARY KEY,
    -- Stored lower-cased; unique across the installation.
    email text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name text NOT NULL DEFAULT '',
    -- PHC string (argon2id). NULL: no password sign-in.
    password_hash text,
    disabled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    org_id uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE teams (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name),
    -- Target of composite foreign keys: a child row's team is always in the child's org.
    UNIQUE (id, org_id)
);

CREATE TABLE projects (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
    team_id uuid,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name),
    UNIQUE (id, org_id),
    FOREIGN KEY (team_id, org_id) REFERENCES teams (id, org_id)
);

-- Custom roles of one org; built-in roles live only in casbin_rule (domain '*').
CREATE TABLE custom_roles (
    org_id uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
    name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{1,39}$'),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, name)
);

CREATE TABLE custom_role_permissions (
    org_id uuid NOT NULL,
    role text NOT NULL,
    resource text NOT NULL,
    action text NOT NULL,
    PRIMARY KEY (org_id, role, resource, action),
    FOREIGN KEY (org_id, role) REFERENCES custom_roles ON DELETE CASCADE
);

-- Who holds which role, org-wide (team_id NULL) or in one team.
CREATE TABLE role_assignments (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text NOT NULL,
    team_id uuid,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships ON DELETE CASCADE,
    FOREIGN KEY (team_id, org_id) REFERENCES teams (id, org_id) ON DELETE CASCADE,
    UNIQUE NULLS NOT DISTINCT (org_id, user_id, role, team_id)
);
CREATE INDEX role_assignments_user ON role_assignments (user_id);

CREATE TABLE invitations (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
    email text NOT NULL CHECK (email = lower(email)),
    role text NOT NULL,
    team_id uuid,
    -- SHA-256 of the invitation token; the token itself is shown once.
    token_hash bytea NOT NULL UNIQUE,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid,
    revoked_at timestamptz,
    FOREIGN KEY (team_id, org_id) REFERENCES teams (id, org_id) ON DELETE CASCADE
);

CREATE TABLE virtual_keys (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Scope: none of the three = the whole org. team_id is also set for a project of a team.
    team_id uuid,
    project_id uuid,
    user_id uuid,
    -- HMAC-SHA256 of the key under the server pepper; the key itself is shown once.
    key_hash bytea NOT NULL UNIQUE,
    key_hint text NOT NULL,
    -- The key replaced by the last rotation, accepted until previous_expires_at.
    previous_key_hash bytea UNIQUE,
    previous_expires_at timestamptz,
    models text[] NOT NULL DEFAULT '{}',
    providers text[] NOT NULL DEFAULT '{}',
    allowed_cidrs text[] NOT NULL DEFAULT '{}',
    rpm integer CHECK (rpm > 0),
    tpm integer CHECK (tpm > 0),
    expires_at timestamptz,
    tags jsonb NOT NULL DEFAULT '{}',
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz,
    revoked_at timestamptz,
    FOREIGN KEY (team_id, org_id) REFERENCES teams (id, org_id),
    FOREIGN KEY (project_id, org_id) REFERENCES projects (id, org_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships
);
CREATE INDEX virtual_keys_org ON virtual_keys (org_id, id);

-- A sign-in: the family of rotating refresh tokens. Revoking it ends every token of the family.
CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    org_id uuid NOT NULL,
    -- A TOTP code was verified for this sign-in.
    mfa boolean NOT NULL DEFAULT false,
    ip text,
    user_agent text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_refreshed_at timestamptz,
    revoked_at timestamptz,
    revoke_reason text,
    FOREIGN KEY (org_id, user_id) REFERENCES memberships ON DELETE CASCADE
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions ON DELETE CASCADE,
    -- SHA-256 of the token.
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    -- Set when the token was exchanged; presenting it again revokes the session.
    used_at timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Every evaluated sign-in attempt (per-IP rate limiting, history). Pruned after a day.
CREATE TABLE login_attempts (
    id uuid PRIMARY KEY,
    email text NOT NULL,
    ip text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'locked', 'rate_limited'))
);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);
CREATE INDEX login_attempts_at ON login_attempts (at);

-- Consecutive failures per e-mail (known or not, so lockout is no existence oracle).
CREATE TABLE login_lockouts (
    email text PRIMARY KEY,
    failures integer NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz
);

-- TOTP secrets, envelope-encrypted under the gateway's TOTP key (bound to the user id).
CREATE TABLE totp_secrets (
    user_id uuid PRIMARY KEY REFERENCES users ON DELETE CASCADE,
    sealed bytea NOT NULL,
    confirmed_at timestamptz,
    -- The last accepted time step; a code is never accepted twice.
    last_step bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The Casbin policy store (sqlx-adapter's table, created here so the identity role owns it).
CREATE TABLE casbin_rule (
    id SERIAL PRIMARY KEY,
    ptype VARCHAR NOT NULL,
    v0 VARCHAR NOT NULL,
    v1 VARCHAR NOT NULL,
    v2 VARCHAR NOT NULL,
    v3 VARCHAR NOT NULL,
    v4 VARCHAR NOT NULL,
    v5 VARCHAR NOT NULL,
    CONSTRAINT unique_key_sqlx_adapter UNIQUE (ptype, v0, v1, v2, v3, v4, v5)
);

-- Bumped on every policy change; gateways reload when it moves.
CREATE TABLE policy_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version bigint NOT NULL
);
INSERT INTO policy_version VALUES (true, 1);

CREATE FUNCTION identity.bump_policy_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE identity.policy_version SET version = version + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER casbin_rule_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON casbin_rule
    FOR EACH STATEMENT EXECUTE FUNCTION identity.bump_policy_version();

-- The Casbin domain of an assignment: the org, or one team in it.
CREATE FUNCTION identity.policy_domain(org uuid, team uuid) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN team IS NULL THEN 'org:' || org ELSE 'org:' || org || '/team:' || team END
$$;

-- role_assignments → `g` rules, so a cascade (member removed, team deleted) also removes the grant.
CREATE FUNCTION identity.sync_role_assignment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO identity.casbin_rule (ptype, v0, v1, v2, v3, v4, v5)
        VALUES ('g', 'user:' || NEW.user_id, 'role:' || NEW.role,
                identity.policy_domain(NEW.org_id, NEW.team_id), '', '', '')
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM identity.casbin_rule
        WHERE ptype = 'g' AND v0 = 'user:' || OLD.user_id AND v1 = 'role:' || OLD.role
          AND v2 = identity.policy_domain(OLD.org_id, OLD.team_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER role_assignments_policy AFTER INSERT OR DELETE ON role_assignments
    FOR EACH ROW EXECUTE FUNCTION identity.sync_role_assignment();

-- custom_role_permissions → `p` rules in the org's domain.
CREATE FUNCTION identity.sync_custom_permission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO identity.casbin_rule (ptype, v0, v1, v2, v3, v4, v5)
        VALUES ('p', 'role:' || NEW.role, 'org:' || NEW.org_id, NEW.resource, NEW.action, '', '')
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM identity.casbin_rule
        WHERE ptype = 'p' AND v0 = 'role:' || OLD.role AND v1 = 'org:' || OLD.org_id
          AND v2 = OLD.resource AND v3 = OLD.action;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER custom_role_permissions_policy AFTER INSERT OR DELETE ON custom_role_permissions
    FOR EACH ROW EXECUTE FUNCTION identity.sync_custom_permission();

-- Built-in roles: `p` rules in the shared domain '*'. docs/rbac.md documents this table and a
-- test keeps the two identical.
INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5)
SELECT 'p', 'role:' || role, '*', resource, action, '', ''
FROM (VALUES
    ('owner', 'org', 'read'), ('owner', 'org', 'write'),
    ('owner', 'teams', 'read'), ('owner', 'teams', 'write'),
    ('owner', 'projects', 'read'), ('owner', 'projects', 'write'),
    ('owner', 'users', 'read'), ('owner', 'users', 'write'),
    ('owner', 'invitations', 'read'), ('owner', 'invitations', 'write'),
    ('owner', 'roles', 'read'), ('owner', 'roles', 'write'),
    ('owner', 'virtual_keys', 'read'), ('owner', 'virtual_keys', 'write'),
    ('owner', 'provider_keys', 'read'), ('owner', 'provider_keys', 'write'),
    ('owner', 'audit', 'read'),
    ('owner', 'usage', 'read'),
    ('owner', 'budgets', 'read'), ('owner', 'budgets', 'write'),

    ('admin', 'org', 'read'), ('admin', 'org', 'write'),
    ('admin', 'teams', 'read'), ('admin', 'teams', 'write'),
    ('admin', 'projects', 'read'), ('admin', 'projects', 'write'),
    ('admin', 'users', 'read'), ('admin', 'users', 'write'),
    ('admin', 'invitations', 'read'), ('admin', 'invitations', 'write'),
    ('admin', 'roles', 'read'), ('admin', 'roles', 'write'),
    ('admin', 'virtual_keys', 'read'), ('admin', 'virtual_keys', 'write'),
    ('admin', 'provider_keys', 'read'), ('admin', 'provider_keys', 'write'),
    ('admin', 'audit', 'read'),
    ('admin', 'usage', 'read'),
    ('admin', 'budgets', 'read'), ('admin', 'budgets', 'write'),

    ('developer', 'org', 'read'),
    ('developer', 'teams', 'read'),
    ('developer', 'projects', 'read'),
    ('developer', 'users', 'read'),
    ('developer', 'roles', 'read'),
    ('developer', 'virtual_keys', 'read'), ('developer', 'virtual_keys', 'write'),
    ('developer', 'provider_keys', 'read'),
    ('developer', 'usage', 'read'),
    ('developer', 'budgets', 'read'),

    ('viewer', 'org', 'read'),
    ('viewer', 'teams', 'read'),
    ('viewer', 'projects', 'read'),
    ('viewer', 'users', 'read'),
    ('viewer', 'virtual_keys', 'read'),
    ('viewer', 'provider_keys', 'read'),
    ('viewer', 'usage', 'read'),
    ('viewer', 'budgets', 'read'),

    ('auditor', 'org', 'read'),
    ('auditor', 'teams', 'read'),
    ('auditor', 'projects', 'read'),
    ('auditor', 'users', 'read'),
    ('auditor', 'invitations', 'read'),
    ('auditor', 'roles', 'read'),
    ('auditor', 'virtual_keys', 'read'),
    ('auditor', 'provider_keys', 'read'),
    ('auditor', 'audit', 'read'),
    ('auditor', 'usage', 'read'),
    ('auditor', 'budgets', 'read'),

    ('billing', 'org', 'read'),
    ('billing', 'teams', 'read'),
    ('billing', 'projects', 'read'),
    ('billing', 'usage', 'read'),
    ('billing', 'budgets', 'read'), ('billing', 'budgets', 'write')
) AS builtin (role, resource, action);
