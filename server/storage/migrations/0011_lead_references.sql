-- A lead's sends and scan log entries referred to it by foreign keys. Each insert's key check
-- takes a KEY SHARE lock on the lead's row; a lead gets about seven such rows from three or
-- four concurrent transactions, so the locks wrote the lead's tuple header (a MultiXact, and
-- WAL) again and again. bench/distribution.py measured PostgreSQL at 0.8 of a core with them
-- and under 0.5 without, while distributing more leads. A check by trigger instead (a plain
-- existence test per inserting statement) still cost PostgreSQL a quarter of a core.
--
-- So sends and scan logs name their lead without a database check: the engine and the
-- manual operations write them only for a lead they read in the same transaction, of the
-- same account (server/services/distribution.py, server/services/operations.py). What the
-- foreign keys also gave, that such a lead cannot disappear, is kept: a lead that has a job,
-- a send or a scan log entry cannot be deleted or moved to another account. A lead's job
-- keeps its foreign key; it is written with the lead, in the same statement.

ALTER TABLE sends DROP CONSTRAINT sends_account_id_lead_id_fkey;
ALTER TABLE scan_logs DROP CONSTRAINT scan_logs_account_id_lead_id_fkey;

CREATE FUNCTION lead_is_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM distribution_jobs j
               WHERE j.account_id = OLD.account_id AND j.lead_id = OLD.id)
       OR EXISTS (SELECT 1 FROM sends s
                  WHERE s.account_id = OLD.account_id AND s.lead_id = OLD.id)
       OR EXISTS (SELECT 1 FROM scan_logs g
                  WHERE g.account_id = OLD.account_id AND g.lead_id = OLD.id)
    THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('lead %s has a distribution job, sends or a scan log', OLD.id),
            CONSTRAINT = 'leads_kept';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER lead_is_kept BEFORE DELETE ON leads
    FOR EACH ROW EXECUTE FUNCTION lead_is_kept();
CREATE TRIGGER lead_stays_in_its_account BEFORE UPDATE OF account_id ON leads
    FOR EACH ROW WHEN (OLD.account_id IS DISTINCT FROM NEW.account_id)
    EXECUTE FUNCTION lead_is_kept();
