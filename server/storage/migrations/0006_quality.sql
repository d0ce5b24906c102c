-- Quality control and returns (docs/quality.md).

-- A QC approval's note. A rejection's reason is qc_reason, which the status URL shows.
ALTER TABLE leads ADD COLUMN qc_note text NOT NULL DEFAULT '';
-- A lead returned to its source (its last standing sale was returned and the campaign counts
-- returns): the source is no longer owed source_credit. What a source is owed for a lead is
-- price - source_credit.
ALTER TABLE leads
    ADD COLUMN returned_to_source boolean NOT NULL DEFAULT false,
    ADD COLUMN source_credit numeric(14, 4) NOT NULL DEFAULT 0
        CHECK (source_credit >= 0 AND source_credit <= price);
-- The bin: leads held for review, in order of arrival.
CREATE INDEX leads_qc_bin ON leads (account_id, id) WHERE pending_qc;

-- A buyer's return of a sale. The send stays sold and keeps its price, so revenue is the sum
-- of sold sends less the sum of returned ones. Only a sale can be returned.
ALTER TABLE sends
    ADD COLUMN returned_at timestamptz,
    ADD COLUMN return_reason text NOT NULL DEFAULT '',
    ADD CONSTRAINT sends_return_of_a_sale CHECK (returned_at IS NULL OR status = 3);
CREATE INDEX sends_returned ON sends (account_id, id) WHERE returned_at IS NOT NULL;
