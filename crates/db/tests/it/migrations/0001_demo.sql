-- Why: a table for the migration tests to find in the service's schema.
CREATE TABLE demo (id bigint PRIMARY KEY);
