-- Why: orgs name models their own way (issue 7): `model` in a proxy request may be an org alias
-- for a catalog model name or an explicit `provider/model`. Aliases never point to aliases.
CREATE TABLE model_aliases (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs ON DELETE CASCADE,
    -- No `/`, so an alias can never shadow an explicit `provider/model`.
    alias       text NOT NULL CHECK (alias ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$'),
    target      text NOT NULL CHECK (length(target) BETWEEN 1 AND 200),
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, alias)
);
