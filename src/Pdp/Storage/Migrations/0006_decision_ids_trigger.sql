-- decision_ids is filled by the database from every INSERT/COPY into decisions (one statement trigger with a
-- transition table, so one extra INSERT per batch, not per row). A decision_id already present makes the whole
-- statement fail with a unique violation: the writer then retries the batch without the duplicates.
-- Runs with the inserting role's rights (pdp_writer has INSERT on decision_ids).

CREATE OR REPLACE FUNCTION index_decision_ids()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
    INSERT INTO decision_ids (decision_id, decided_at, writer_id, seq, record_hash)
    SELECT decision_id, decided_at, writer_id, seq, record_hash FROM new_decisions;
    RETURN NULL;
END
$fn$;

DROP TRIGGER IF EXISTS decisions_index_ids ON decisions;
CREATE TRIGGER decisions_index_ids
    AFTER INSERT ON decisions
    REFERENCING NEW TABLE AS new_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION index_decision_ids();
