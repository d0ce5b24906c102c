-- Updates of sends append their report deltas once per statement instead of once per row
-- (docs/reports.md, "How the aggregates are kept"). The row trigger of 0034 ran two queries
-- per finished send (its new counts, its old ones), each looking its lead up and appending a
-- delta row; the OutcomeWriter finishes a group of sends in one statement, so the group now
-- costs one query that reads the statement's transition tables, looks each lead up once, and
-- appends one delta per cell the group changed (the sends of one buyer, campaign and day add
-- up). bench/reports.py measured the triggers' cost per lead in PostgreSQL cut to a third.
--
-- A statement trigger has no WHEN clause on the rows, so it runs for every UPDATE of sends (a
-- claim, a lease renewed): it first looks for a row that counts before or after (finished:
-- sold, rejected, failed) and returns when there is none. Sends inserted or deleted keep the
-- row triggers of 0034, whose WHEN clause skips the scheduled and in-flight sends a step
-- writes: those inserted finished (logged sends, data pulls) are few.

-- What a statement's updates of sends changed: the new counts less the old ones, by cell
-- (cells whose figures did not change are left out).
CREATE FUNCTION report_sends_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM new_rows WHERE status IN (3, 4, 5))
       AND NOT EXISTS (SELECT FROM old_rows WHERE status IN (3, 4, 5)) THEN
        RETURN NULL;
    END IF;
    INSERT INTO report_deltas
    SELECT d.account_id, d.day, d.source_id, d.campaign_id, d.lead_type_id, d.client_id,
           d.reason, 0, 0, sum(d.sold), sum(d.sends), sum(d.revenue), 0, sum(d.returns),
           sum(d.credits), 0
    FROM (SELECT r.* FROM new_rows s, send_report_row(s) r
          WHERE s.status IN (3, 4, 5)
          UNION ALL
          SELECT n.* FROM old_rows s, send_report_row(s) r, report_negated(r) n
          WHERE s.status IN (3, 4, 5)) d
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING (sum(d.sold), sum(d.sends), sum(d.revenue), sum(d.returns), sum(d.credits))
           <> (0, 0, 0, 0, 0);
    RETURN NULL;
END
$$;

DROP TRIGGER report_send_updated ON sends;
CREATE TRIGGER report_send_updated AFTER UPDATE ON sends
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_sends_updated();
