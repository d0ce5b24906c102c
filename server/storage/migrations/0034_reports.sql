-- Profit and loss (docs/reports.md): aggregates kept current as leads, sends and post log
-- entries are written. Each write appends what it changed to report_deltas (no shared row is
-- updated, so concurrent leads of one campaign never wait on each other); a report folds the
-- deltas into report_cells before it reads them. A lead, its sends and its returns count on
-- the UTC day the lead was received.

-- One cell per account, UTC day, source, campaign, lead type, buyer (0: the lead itself, not a
-- sale of it) and refusal reason (LeadExec's ResponseType; 0 for anything but a refusal).
CREATE TABLE report_cells (
    account_id     bigint NOT NULL,
    day            date NOT NULL,
    source_id      bigint NOT NULL,
    campaign_id    bigint NOT NULL,
    lead_type_id   bigint NOT NULL,
    client_id      bigint NOT NULL,
    reason         smallint NOT NULL,
    accepted       bigint NOT NULL DEFAULT 0,
    refused        bigint NOT NULL DEFAULT 0,
    sold           bigint NOT NULL DEFAULT 0,
    sends          bigint NOT NULL DEFAULT 0,
    revenue        numeric(18, 4) NOT NULL DEFAULT 0,
    source_cost    numeric(18, 4) NOT NULL DEFAULT 0,
    returns        bigint NOT NULL DEFAULT 0,
    credits        numeric(18, 4) NOT NULL DEFAULT 0,
    source_credits numeric(18, 4) NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day, source_id, campaign_id, lead_type_id, client_id, reason)
);

-- Changes not yet folded into report_cells, appended by the triggers below (the columns of
-- report_counts, then the id).
CREATE TABLE report_deltas (
    account_id     bigint NOT NULL,
    day            date NOT NULL,
    source_id      bigint NOT NULL,
    campaign_id    bigint NOT NULL,
    lead_type_id   bigint NOT NULL,
    client_id      bigint NOT NULL,
    reason         smallint NOT NULL,
    accepted       bigint NOT NULL DEFAULT 0,
    refused        bigint NOT NULL DEFAULT 0,
    sold           bigint NOT NULL DEFAULT 0,
    sends          bigint NOT NULL DEFAULT 0,
    revenue        numeric(18, 4) NOT NULL DEFAULT 0,
    source_cost    numeric(18, 4) NOT NULL DEFAULT 0,
    returns        bigint NOT NULL DEFAULT 0,
    credits        numeric(18, 4) NOT NULL DEFAULT 0,
    source_credits numeric(18, 4) NOT NULL DEFAULT 0,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (account_id, id)
);

-- The rebuild reads a range's refusals through this index (only refused posts pay for it;
-- account_id last so that no plan takes it for the primary key: 0012_key_lookups.sql), and
-- its leads through leads_campaign_time, campaign by campaign, adding no index to them.
CREATE INDEX posts_refused_time ON posts (received_at, account_id) WHERE NOT is_valid;

-- What a row counts for is defined once, by the three *_report_row functions; the triggers
-- append the difference between a row's new and old counts, and a rebuild sums the counts of
-- the rows themselves (server/storage/sql/reports.sql), so the two cannot disagree.

-- What one row counts for: a cell's keys and figures.
CREATE TYPE report_counts AS (
    account_id bigint, day date, source_id bigint, campaign_id bigint, lead_type_id bigint,
    client_id bigint, reason smallint, accepted bigint, refused bigint, sold bigint,
    sends bigint, revenue numeric, source_cost numeric, returns bigint, credits numeric,
    source_credits numeric
);

-- A refused lead: a post log entry that is not valid, not a ping, of an account, and not a
-- queued post's own entry (that one repeats its first lead's answer).
CREATE FUNCTION post_report_row(p posts) RETURNS SETOF report_counts
LANGUAGE sql STABLE AS $$
  SELECT p.account_id, (p.received_at AT TIME ZONE 'UTC')::date,
         coalesce(p.source_id, 0), coalesce(p.campaign_id, 0), coalesce(p.lead_type_id, 0),
         0::bigint, p.response_type, 0::bigint, 1::bigint, 0::bigint, 0::bigint, 0::numeric,
         0::numeric, 0::bigint, 0::numeric, 0::numeric
  WHERE NOT p.is_valid AND NOT p.ping AND p.account_id <> 0
    AND NOT EXISTS (SELECT 1 FROM queued_posts q
                    WHERE q.account_id = p.account_id AND q.post_id = p.id)
$$;

-- An accepted lead: what the account owes its source (its price, settlements of confirmed
-- per-sale and revenue-share sales included) and what a return to the source took back.
CREATE FUNCTION lead_report_row(l leads) RETURNS SETOF report_counts
LANGUAGE sql IMMUTABLE AS $$
  SELECT l.account_id, (l.received_at AT TIME ZONE 'UTC')::date, l.source_id,
         l.campaign_id, l.lead_type_id, 0::bigint, 0::smallint, 1::bigint, 0::bigint,
         0::bigint, 0::bigint, 0::numeric, l.price, 0::bigint, 0::numeric, l.source_credit
$$;

-- A send that finished (sold 3, rejected 4, failed 5), on its lead's day; a sale's price is
-- revenue, and a returned sale's price a credit to its buyer.
CREATE FUNCTION send_report_row(s sends) RETURNS SETOF report_counts
LANGUAGE sql STABLE AS $$
  SELECT s.account_id, (l.received_at AT TIME ZONE 'UTC')::date, l.source_id,
         l.campaign_id, l.lead_type_id, s.client_id, 0::smallint, 0::bigint, 0::bigint,
         (s.status = 3)::int::bigint, 1::bigint,
         CASE WHEN s.status = 3 THEN s.price ELSE 0 END, 0::numeric,
         (s.returned_at IS NOT NULL)::int::bigint,
         CASE WHEN s.returned_at IS NOT NULL THEN s.price ELSE 0 END, 0::numeric
  FROM leads l
  WHERE s.status IN (3, 4, 5) AND l.account_id = s.account_id AND l.id = s.lead_id
$$;

-- A row's counts negated: what it no longer counts for.
CREATE FUNCTION report_negated(d report_counts) RETURNS report_counts
LANGUAGE sql IMMUTABLE AS $$
  SELECT d.account_id, d.day, d.source_id, d.campaign_id, d.lead_type_id, d.client_id,
         d.reason, -d.accepted, -d.refused, -d.sold, -d.sends, -d.revenue, -d.source_cost,
         -d.returns, -d.credits, -d.source_credits
$$;

-- Append a row's new counts, and its old ones negated, as deltas (a row that counts for
-- nothing appends nothing).
CREATE FUNCTION report_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'leads' THEN
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO report_deltas SELECT * FROM lead_report_row(NEW);
        END IF;
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO report_deltas SELECT n.* FROM lead_report_row(OLD) r, report_negated(r) n;
        END IF;
    ELSIF TG_TABLE_NAME = 'sends' THEN
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO report_deltas SELECT * FROM send_report_row(NEW);
        END IF;
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO report_deltas SELECT n.* FROM send_report_row(OLD) r, report_negated(r) n;
        END IF;
    ELSE
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO report_deltas SELECT * FROM post_report_row(NEW);
        END IF;
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO report_deltas SELECT n.* FROM post_report_row(OLD) r, report_negated(r) n;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Triggers rather than a delta in each writing statement: every writer (intake, the engine's
-- outcomes, manual and logged sends, confirmations, returns, the queue worker) is covered by
-- one definition. The WHEN clauses keep the function from running for writes that change no
-- count (a send claimed, a lease renewed, a lead's QC note).
CREATE TRIGGER report_lead_inserted AFTER INSERT OR DELETE ON leads
    FOR EACH ROW EXECUTE FUNCTION report_row_changed();
CREATE TRIGGER report_lead_updated AFTER UPDATE ON leads
    FOR EACH ROW
    WHEN ((OLD.price, OLD.source_credit, OLD.received_at, OLD.source_id, OLD.campaign_id,
           OLD.lead_type_id)
          IS DISTINCT FROM
          (NEW.price, NEW.source_credit, NEW.received_at, NEW.source_id, NEW.campaign_id,
           NEW.lead_type_id))
    EXECUTE FUNCTION report_row_changed();

CREATE TRIGGER report_send_inserted AFTER INSERT ON sends
    FOR EACH ROW WHEN (NEW.status IN (3, 4, 5)) EXECUTE FUNCTION report_row_changed();
CREATE TRIGGER report_send_deleted AFTER DELETE ON sends
    FOR EACH ROW WHEN (OLD.status IN (3, 4, 5)) EXECUTE FUNCTION report_row_changed();
CREATE TRIGGER report_send_updated AFTER UPDATE ON sends
    FOR EACH ROW
    WHEN ((OLD.status IN (3, 4, 5) OR NEW.status IN (3, 4, 5))
          AND (OLD.status, OLD.price, OLD.returned_at IS NULL, OLD.client_id, OLD.lead_id)
              IS DISTINCT FROM
              (NEW.status, NEW.price, NEW.returned_at IS NULL, NEW.client_id, NEW.lead_id))
    EXECUTE FUNCTION report_row_changed();

CREATE TRIGGER report_post_inserted AFTER INSERT ON posts
    FOR EACH ROW WHEN (NOT NEW.is_valid) EXECUTE FUNCTION report_row_changed();
CREATE TRIGGER report_post_deleted AFTER DELETE ON posts
    FOR EACH ROW WHEN (NOT OLD.is_valid) EXECUTE FUNCTION report_row_changed();
CREATE TRIGGER report_post_updated AFTER UPDATE ON posts
    FOR EACH ROW
    WHEN ((NOT OLD.is_valid OR NOT NEW.is_valid)
          AND (OLD.is_valid, OLD.ping, OLD.response_type, OLD.received_at, OLD.source_id,
               OLD.campaign_id, OLD.lead_type_id)
              IS DISTINCT FROM
              (NEW.is_valid, NEW.ping, NEW.response_type, NEW.received_at, NEW.source_id,
               NEW.campaign_id, NEW.lead_type_id))
    EXECUTE FUNCTION report_row_changed();
