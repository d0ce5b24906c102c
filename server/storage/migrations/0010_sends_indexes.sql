-- A lead's own sends, in order, are read at every step of its waterfall (lead_sends). On a
-- table not yet analysed, a prepared statement's generic plan read them through sends_pkey
-- (for the order) or the partial sends_shares index (for the status filter): every send of
-- the account, to find the lead's few (2 ms at 4,500 sends, growing with history). With the
-- id in sends_lead, one index gives both the lead and the order.

DROP INDEX sends_lead;
CREATE INDEX sends_lead ON sends (account_id, lead_id, id);
