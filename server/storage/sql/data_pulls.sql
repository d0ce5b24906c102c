-- Aged leads and data pulls (server/storage/data_pulls.py).

-- name: aged_leads
-- One page of a lead type's leads received in a window (oldest first, after a lead), of a
-- lead category (0: any), that can be sold: not held in or rejected by QC, not noSell, never
-- sent to the client (sold, or a send that may still sell), and under their campaign's max
-- sell unless over_max; with their standing sales.
SELECT l.id, l.received_at, l.campaign_id, l.fields, sold.count AS sold
FROM leads l
JOIN campaigns c ON c.account_id = l.account_id AND c.id = l.campaign_id
CROSS JOIN LATERAL (
  SELECT count(*)::integer AS count FROM sends s
  WHERE s.account_id = l.account_id AND s.lead_id = l.id
    AND s.status = {{SendStatus.SOLD}} AND s.returned_at IS NULL
) sold
WHERE l.account_id = %(account_id)s AND l.lead_type_id = %(lead_type_id)s
  AND l.received_at <= %(newest)s
  AND (%(oldest)s::timestamptz IS NULL OR l.received_at >= %(oldest)s::timestamptz)
  AND (l.received_at, l.id) > (%(after_at)s::timestamptz, %(after_id)s::bigint)
  AND (%(lead_category_id)s::bigint = 0 OR c.lead_category_id = %(lead_category_id)s::bigint)
  AND NOT l.pending_qc AND NOT l.qc_rejected AND NOT l.no_sell
  AND NOT EXISTS (
    SELECT 1 FROM sends s
    WHERE s.account_id = l.account_id AND s.lead_id = l.id AND s.client_id = %(client_id)s
      AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}})
  )
  AND (%(over_max)s OR sold.count < c.max_sell)
ORDER BY l.received_at, l.id
LIMIT %(limit)s;

-- name: lock_client_pulls
-- Serialise a client's data pulls, so that a lead pulled twice at once is sold once.
SELECT pg_advisory_xact_lock(hashtextextended('data_pull:' || %(account_id)s::text || ':'
                                              || %(client_id)s::text, 0));

-- name: insert_data_pull
-- Create a data pull.
INSERT INTO data_pulls (account_id, client_id, delivery_account_id, total_price, status,
                        card_transaction_id, lead_ids)
VALUES (%(account_id)s, %(client_id)s, %(delivery_account_id)s, %(total_price)s, %(status)s,
        %(card_transaction_id)s, %(lead_ids)s)
RETURNING id, client_id, delivery_account_id, total_price, status, card_transaction_id,
          lead_ids, created_at;

-- name: update_data_pull
-- Edit a data pull: its price, status and card transaction, and its leads (those it had and
-- the new ones, in order).
UPDATE data_pulls
SET total_price = %(total_price)s, status = %(status)s,
    card_transaction_id = %(card_transaction_id)s, lead_ids = %(lead_ids)s, updated_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s
RETURNING id, client_id, delivery_account_id, total_price, status, card_transaction_id,
          lead_ids, created_at;

-- name: lock_data_pull
-- A data pull, locked while it is edited.
SELECT id, client_id, delivery_account_id, total_price, status, card_transaction_id, lead_ids,
       created_at
FROM data_pulls WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: get_data_pull
-- A data pull, to export it.
SELECT id, client_id, delivery_account_id, total_price, status, card_transaction_id, lead_ids,
       created_at
FROM data_pulls WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: leads_to_pull
-- The leads a pull names that the account has, with their lead type, and whether the client
-- pulled them already.
SELECT l.id, l.lead_type_id,
       EXISTS (SELECT 1 FROM data_pull_leads d
               WHERE d.account_id = l.account_id AND d.client_id = %(client_id)s
                 AND d.lead_id = l.id) AS pulled
FROM leads l
WHERE l.account_id = %(account_id)s AND l.id = ANY(%(ids)s::bigint[]);

-- name: sell_pulled_leads
-- Sell leads to the pull's delivery account, each at its price: a sold send, its line in the
-- lead's scan log, the client's record of the lead pulled (one per client and lead), and its
-- charge on the client's ledger (the balance row updated once, each sale an entry with the
-- balance it left, as finish_sends charges the engine's sales).
WITH wanted AS (
  SELECT w.lead_id, w.price
  FROM unnest(%(ids)s::bigint[], %(prices)s::numeric[]) AS w(lead_id, price)
), sent AS (
  INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id, delivery_id, status,
                     automated, price, reason, attempts, sent_at)
  SELECT a.account_id, w.lead_id, a.client_id, a.id, a.delivery_id, {{SendStatus.SOLD}}, false,
         w.price, 'data pull ' || %(pull_id)s::text, 1, now()
  FROM wanted w
  JOIN delivery_accounts a ON a.account_id = %(account_id)s AND a.id = %(delivery_account_id)s
  RETURNING id, lead_id, price
), logged AS (
  INSERT INTO scan_logs (account_id, lead_id, log)
  SELECT %(account_id)s, lead_id,
         'Send ' || id || ': sold by data pull ' || %(pull_id)s::text || ' to client '
         || %(client_id)s::text || ' at ' || price
  FROM sent
), balanced AS (
  INSERT INTO client_billing AS b (account_id, client_id, balance)
  SELECT %(account_id)s, %(client_id)s, -sum(round(price, 2)) FROM sent HAVING count(*) > 0
  ON CONFLICT (account_id, client_id)
    DO UPDATE SET balance = b.balance + excluded.balance, updated_at = now()
  RETURNING b.balance
), charged AS (
  INSERT INTO ledger_entries (account_id, client_id, kind, amount, balance, send_id, lead_id,
                              note)
  SELECT %(account_id)s, %(client_id)s, 'sale', -round(s.price, 2),
         b.balance + coalesce(sum(round(s.price, 2)) OVER (
           ORDER BY s.id ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
         s.id, s.lead_id, 'data pull ' || %(pull_id)s::text
  FROM sent s CROSS JOIN balanced b
  ORDER BY s.id
)
INSERT INTO data_pull_leads (account_id, client_id, lead_id, pull_id, send_id)
SELECT %(account_id)s, %(client_id)s, lead_id, %(pull_id)s, id FROM sent
RETURNING lead_id;

-- name: pulled_leads
-- A pull's leads as the client bought them (by this pull or an earlier one), in the pull's
-- order: when received, the price sold at, and the lead's fields.
SELECT l.id, l.received_at, s.price, l.fields
FROM data_pulls p
CROSS JOIN LATERAL unnest(p.lead_ids) WITH ORDINALITY AS u(lead_id, n)
JOIN data_pull_leads d ON d.account_id = p.account_id AND d.client_id = p.client_id
                      AND d.lead_id = u.lead_id
JOIN sends s ON s.account_id = d.account_id AND s.id = d.send_id
JOIN leads l ON l.account_id = d.account_id AND l.id = d.lead_id
WHERE p.account_id = %(account_id)s AND p.id = %(id)s
ORDER BY u.n;
