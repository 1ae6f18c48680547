-- Why: provider keys are now spread by weight among keys of equal scope and priority, with
-- weights 1–1000 and a default of 100 (so a key can weigh less than the default). Weights were
-- stored but never used before; rows with the old default 1 take the new default so keys stored
-- before and after weigh the same, and other values are clamped into the new range.
ALTER TABLE secrets ALTER COLUMN weight SET DEFAULT 100;
UPDATE secrets SET weight = CASE WHEN weight = 1 THEN 100 ELSE LEAST(weight, 1000) END
WHERE weight = 1 OR weight > 1000;
ALTER TABLE secrets ADD CONSTRAINT secrets_weight_range CHECK (weight BETWEEN 1 AND 1000);
