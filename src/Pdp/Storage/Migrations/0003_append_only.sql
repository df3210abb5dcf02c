-- Append-only enforcement, layer 1: triggers refuse UPDATE, DELETE and TRUNCATE for every role, owner included
-- (a superuser can still disable the trigger; the hash chain makes such edits detectable by `pdp verify-log`).

CREATE OR REPLACE FUNCTION refuse_modification()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;

DO $do$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['decisions', 'decision_ids', 'outcomes', 'approvals'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t || '_no_update_delete', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION refuse_modification()',
                       t || '_no_update_delete', t);
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t || '_no_truncate', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION refuse_modification()',
                       t || '_no_truncate', t);
    END LOOP;
END
$do$;
