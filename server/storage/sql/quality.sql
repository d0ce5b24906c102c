-- name: list_qc_bin
-- Leads waiting in the QC bin, oldest first, one page after a lead id.
SELECT id, post_id, source_id, campaign_id, lead_type_id, reference, received_at, fields, price
FROM leads
WHERE account_id = %(account_id)s AND pending_qc
  AND (%(campaign_id)s::bigint = 0 OR campaign_id = %(campaign_id)s::bigint)
  AND id > %(after_id)s::bigint
ORDER BY id
LIMIT %(limit)s;

-- name: get_lead_qc_state
-- Where a lead stands in QC review, to say why it cannot be reviewed.
SELECT id, pending_qc, qc_reviewed_at, qc_rejected FROM leads
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: approve_lead
-- Take a lead out of the QC bin and, in the same statement, write its distribution job (as
-- insert_lead would have): due now, or when the source's send delay ends if later; none for a
-- noSell lead. Nothing when the lead is not in the bin.
WITH lead AS (
  UPDATE leads l SET pending_qc = false, qc_reviewed_at = now(), qc_note = %(note)s
  FROM campaigns c
  WHERE l.account_id = %(account_id)s AND l.id = %(id)s AND l.pending_qc
    AND c.account_id = l.account_id AND c.id = l.campaign_id
  RETURNING l.account_id, l.id, l.received_at, l.send_delay_hours, l.no_sell, l.qc_reviewed_at,
            c.max_sell, l.account_types
), job AS (
  INSERT INTO distribution_jobs (account_id, lead_id, run_at, max_sells, account_types)
  SELECT account_id, id, greatest(now(), received_at + send_delay_hours * interval '1 hour'),
         max_sell, account_types
  FROM lead WHERE NOT no_sell
  ON CONFLICT (account_id, lead_id) DO NOTHING
  RETURNING run_at
)
SELECT id, qc_reviewed_at, (SELECT run_at FROM job) AS due_at FROM lead;

-- name: reject_lead
-- Take a lead out of the QC bin for good, with the reason; nothing when it is not in the bin.
UPDATE leads SET pending_qc = false, qc_reviewed_at = now(), qc_rejected = true,
                 qc_reason = %(reason)s
WHERE account_id = %(account_id)s AND id = %(id)s AND pending_qc
RETURNING id, qc_reviewed_at;

-- name: find_send_lead
-- The lead a send belongs to.
SELECT lead_id FROM sends WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: lock_lead_for_return
-- A lead with its campaign's and source's return settings, locked while its sales are
-- returned, and the transaction's clock.
SELECT l.id, l.price, l.returned_at, c.return_days, c.count_returns,
       s.default_return_days, now() AS now
FROM leads l
JOIN campaigns c ON c.account_id = l.account_id AND c.id = l.campaign_id
JOIN sources s ON s.account_id = l.account_id AND s.id = l.source_id
WHERE l.account_id = %(account_id)s AND l.id = %(lead_id)s
FOR UPDATE OF l;

-- name: lock_sends_for_return
-- The sends a return names, locked: one send by id, or (send_id 0) a buyer's sends of the lead.
SELECT s.id, s.lead_id, s.client_id, c.name AS client_name, s.status, s.price,
       coalesce(s.sent_at, s.created_at) AS sold_at, s.returned_at, s.return_reason
FROM sends s
JOIN clients c ON c.account_id = s.account_id AND c.id = s.client_id
WHERE s.account_id = %(account_id)s AND s.lead_id = %(lead_id)s
  AND (s.id = %(send_id)s::bigint
       OR (%(send_id)s::bigint = 0 AND s.client_id = %(client_id)s::bigint))
ORDER BY s.id
FOR UPDATE OF s;

-- name: mark_sends_returned
-- Return sales: the buyer no longer owes them, and its ledger is credited each sale's price
-- (as its sale charged it), each entry with the balance it left. Each send is returned once.
WITH returned AS (
  UPDATE sends SET returned_at = now(), return_reason = %(reason)s
  WHERE account_id = %(account_id)s AND id = ANY(%(ids)s::bigint[]) AND status = {{SendStatus.SOLD}}
    AND returned_at IS NULL
  RETURNING account_id, id, client_id, lead_id, round(price, 2) AS amount, returned_at
), balanced AS (
  INSERT INTO client_billing AS b (account_id, client_id, balance)
  SELECT account_id, client_id, sum(amount) FROM returned
  GROUP BY account_id, client_id ORDER BY account_id, client_id
  ON CONFLICT (account_id, client_id)
    DO UPDATE SET balance = b.balance + excluded.balance, updated_at = now()
  RETURNING b.account_id, b.client_id, b.balance
), credited AS (
  INSERT INTO ledger_entries (account_id, client_id, kind, amount, balance, send_id, lead_id, note)
  SELECT r.account_id, r.client_id, 'return', r.amount,
         b.balance - coalesce(sum(r.amount) OVER (
           PARTITION BY r.client_id ORDER BY r.id
           ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
         r.id, r.lead_id, %(reason)s
  FROM returned r
  JOIN balanced b ON b.account_id = r.account_id AND b.client_id = r.client_id
  ORDER BY r.client_id, r.id
)
SELECT id, returned_at FROM returned;

-- name: mark_lead_returned
-- Mark a lead returned once no sale of it stands or may still be made, crediting its source
-- as decided; nothing while a sale stands.
UPDATE leads l SET returned_at = now(), return_reason = %(reason)s,
                   returned_to_source = %(to_source)s, source_credit = %(source_credit)s
WHERE l.account_id = %(account_id)s AND l.id = %(lead_id)s AND l.returned_at IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM sends s
    WHERE s.account_id = l.account_id AND s.lead_id = l.id AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}})
      AND s.returned_at IS NULL)
RETURNING returned_at, returned_to_source, source_credit;

-- name: list_returns
-- Returned sales, oldest send first, one page after a send id.
SELECT s.id, s.lead_id, s.client_id, c.name AS client_name, s.price,
       coalesce(s.sent_at, s.created_at) AS sold_at, s.returned_at, s.return_reason
FROM sends s
JOIN clients c ON c.account_id = s.account_id AND c.id = s.client_id
WHERE s.account_id = %(account_id)s AND s.returned_at IS NOT NULL
  AND (%(client_id)s::bigint = 0 OR s.client_id = %(client_id)s::bigint)
  AND (%(lead_id)s::bigint = 0 OR s.lead_id = %(lead_id)s::bigint)
  AND s.id > %(after_id)s::bigint
ORDER BY s.id
LIMIT %(limit)s;
