-- name: lead_sends
-- This lead's sends that hold or made a sale: scheduled, in flight or sold, oldest first.
SELECT id, client_id, delivery_account_id, status FROM sends
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s AND status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}})
ORDER BY id;

-- name: cap_counts
-- Deliveries per account since the start of its buyer's local hour, day and month: its sends
-- that hold or made a sale, and the capacity pings' orders reserve while unused and unexpired.
SELECT x.id, s.hour + r.hour AS hour, s.day + r.day AS day, s.month + r.month AS month
FROM unnest(%(ids)s::bigint[], %(hour_starts)s::timestamptz[], %(day_starts)s::timestamptz[],
            %(month_starts)s::timestamptz[]) AS x(id, hour_start, day_start, month_start)
CROSS JOIN LATERAL (
  SELECT count(*) FILTER (WHERE s.created_at >= x.hour_start) AS hour,
         count(*) FILTER (WHERE s.created_at >= x.day_start) AS day,
         count(*) AS month
  FROM sends s
  WHERE s.account_id = %(account_id)s AND s.delivery_account_id = x.id
    AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}}) AND s.created_at >= x.month_start
) s
CROSS JOIN LATERAL (
  SELECT count(*) FILTER (WHERE r.created_at >= x.hour_start) AS hour,
         count(*) FILTER (WHERE r.created_at >= x.day_start) AS day,
         count(*) AS month
  FROM ping_reservations r
  WHERE r.delivery_account_id = x.id AND r.created_at >= x.month_start
    AND r.account_id = %(account_id)s AND NOT r.used AND r.expires_at > clock_timestamp()
) r;

-- name: claim_sends
-- Lease due sends: scheduled ones whose time came, and in-flight ones whose process died.
-- The lease outlasts the delivery method's timeout by the lease margin.
UPDATE sends s SET status = {{SendStatus.IN_FLIGHT}},
                   lease_until = now() + make_interval(secs => %(lease)s +
                       coalesce((d.settings ->> 'timeout_seconds')::float8, 10))
FROM (
  SELECT account_id, id FROM sends
  WHERE (status = {{SendStatus.SCHEDULED}} AND next_attempt_at <= now())
     OR (status = {{SendStatus.IN_FLIGHT}} AND lease_until < now())
  ORDER BY next_attempt_at
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
) due, deliveries d
WHERE s.account_id = due.account_id AND s.id = due.id
  AND d.account_id = s.account_id AND d.id = s.delivery_id
RETURNING s.account_id, s.id;

-- name: get_send_for_delivery
-- What executing a send needs: the send, its lead's values and the lead type.
SELECT s.id, s.lead_id, s.client_id, s.delivery_account_id, s.delivery_id, s.price,
       s.attempts, s.ping_reference, l.lead_type_id, l.fields,
       coalesce((SELECT v.version FROM buyer_versions v WHERE v.account_id = s.account_id), 0)
         AS buyer_version
FROM sends s
JOIN leads l ON l.account_id = s.account_id AND l.id = s.lead_id
WHERE s.account_id = %(account_id)s AND s.id = %(id)s AND s.status = {{SendStatus.IN_FLIGHT}};

-- name: finish_sends
-- Record delivery attempts' outcomes, any number in one statement (nothing for a send already
-- finished). A final outcome (log not empty) also writes its scan log entry and wakes its
-- lead's job for the next step, or, when the lead has now sold its max sell count and nothing
-- else of it is outstanding, marks the job done (that step would find nothing to do). A sale
-- queues its notices (the emails its delivery method sends on a sale), once per send and kind.
-- A sale charges its buyer's ledger (unless it fills a lead pack's order, paid for when the
-- pack was bought): the buyer's balance row is updated once per buyer (its lock), each sale
-- an entry with the balance it left; when the sales take the balance below the buyer's
-- auto-charge threshold, the balance row's trigger queues the top-up (migration 0037). Those
-- writes are read by no other part of the statement, so PostgreSQL makes them after the
-- jobs' update: jobs are locked before balance rows, in the order a step takes them
-- (step.py, a prepaid buyer's check).
-- The jobs are locked in key order, so two writers never wait on each other in a cycle.
-- Returns each job touched with its new state.
WITH outcome AS (
  SELECT * FROM jsonb_to_recordset(%(outcomes)s)
    AS o(account_id bigint, id bigint, status smallint, request text, response text,
         reason text, redirect_url text, price numeric, elapsed_ms float8, retry_in float8,
         log text, notices jsonb)
), finished AS (
  UPDATE sends s
  SET status = o.status, request = o.request, response = o.response, reason = o.reason,
      redirect_url = o.redirect_url, price = o.price, attempts = s.attempts + 1,
      elapsed_ms = o.elapsed_ms, sent_at = now(), lease_until = NULL,
      next_attempt_at = now() + make_interval(secs => o.retry_in)
  FROM outcome o
  WHERE s.account_id = o.account_id AND s.id = o.id AND s.status = {{SendStatus.IN_FLIGHT}}
  RETURNING s.account_id, s.lead_id, s.id, s.client_id, s.status, s.order_id, o.log
), sold AS (
  -- a lead filling a lead pack's order was paid for with the pack (insert_pack_purchase)
  SELECT f.account_id, f.client_id, f.lead_id, f.id AS send_id, round(o.price, 2) AS amount
  FROM finished f
  JOIN outcome o ON o.account_id = f.account_id AND o.id = f.id
  WHERE f.status = {{SendStatus.SOLD}}
    AND NOT EXISTS (SELECT 1 FROM pack_purchases p
                    WHERE p.account_id = f.account_id AND p.order_id = f.order_id)
), balanced AS (
  INSERT INTO client_billing AS b (account_id, client_id, balance)
  SELECT account_id, client_id, -sum(amount) FROM sold
  GROUP BY account_id, client_id ORDER BY account_id, client_id
  ON CONFLICT (account_id, client_id)
    DO UPDATE SET balance = b.balance + excluded.balance, updated_at = now()
  RETURNING b.account_id, b.client_id, b.balance
), charged AS (
  INSERT INTO ledger_entries (account_id, client_id, kind, amount, balance, send_id, lead_id)
  SELECT s.account_id, s.client_id, 'sale', -s.amount,
         b.balance + coalesce(sum(s.amount) OVER (
           PARTITION BY s.account_id, s.client_id ORDER BY s.send_id
           ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
         s.send_id, s.lead_id
  FROM sold s
  JOIN balanced b ON b.account_id = s.account_id AND b.client_id = s.client_id
  ORDER BY s.account_id, s.client_id, s.send_id
), logged AS (
  INSERT INTO scan_logs (account_id, lead_id, log)
  SELECT account_id, lead_id, log FROM finished WHERE log <> '' ORDER BY id
), noticed AS (
  INSERT INTO notices (account_id, lead_id, send_id, kind, sender, recipients, subject, body)
  SELECT f.account_id, f.lead_id, f.id, n.kind, n.sender, n.recipients, n.subject, n.body
  FROM finished f
  JOIN outcome o ON o.account_id = f.account_id AND o.id = f.id
  CROSS JOIN LATERAL jsonb_to_recordset(o.notices)
    AS n(kind text, sender text, recipients text, subject text, body text)
  WHERE f.status = {{SendStatus.SOLD}}
  ON CONFLICT (send_id, kind, account_id) DO NOTHING
), woken AS (
  -- sends are read as they stood before this statement: the ones it finishes count apart
  SELECT j.account_id, j.lead_id, greatest(j.max_sells, 1) AS max_sells,
         (SELECT count(*) FROM sends s
          WHERE s.account_id = j.account_id AND s.lead_id = j.lead_id AND s.status = {{SendStatus.SOLD}})
         + (SELECT count(*) FROM finished f
            WHERE f.account_id = j.account_id AND f.lead_id = j.lead_id AND f.status = {{SendStatus.SOLD}})
           AS sold,
         (SELECT count(*) FROM sends s
          WHERE s.account_id = j.account_id AND s.lead_id = j.lead_id AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}})
            AND s.id NOT IN (SELECT f.id FROM finished f WHERE f.account_id = s.account_id))
         + (SELECT count(*) FROM finished f
            WHERE f.account_id = j.account_id AND f.lead_id = j.lead_id AND f.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}))
           AS outstanding
  FROM distribution_jobs j
  WHERE (j.account_id, j.lead_id) IN (SELECT account_id, lead_id FROM finished WHERE log <> '')
    AND j.state <> 'done'
  ORDER BY j.account_id, j.lead_id
  FOR UPDATE OF j
)
UPDATE distribution_jobs j
SET state = CASE WHEN w.sold >= w.max_sells AND w.outstanding = 0 THEN 'done' ELSE 'pending' END,
    run_at = now(), updated_at = now()
FROM woken w
WHERE j.account_id = w.account_id AND j.lead_id = w.lead_id
RETURNING j.account_id, j.lead_id, j.state;

-- name: list_sends
-- A lead's sends, oldest first, with their buyers' names and their accounts' type and agent.
SELECT s.id, s.lead_id, s.client_id, c.name AS client_name, s.delivery_account_id,
       s.delivery_id, s.status, s.automated, s.price, s.request, s.response, s.reason,
       s.redirect_url, s.attempts, s.elapsed_ms, s.created_at, s.sent_at,
       da.account_type, da.agent_name, da.agent_phone, s.order_id, s.order_item_id,
       s.notes, s.resend_of, s.confirmed_at, s.source_share, s.redirect_notified_at,
       s.redirect_valid, s.redirect_response, s.returned_at, s.return_reason,
       s.ping_reference
FROM sends s
JOIN clients c ON c.account_id = s.account_id AND c.id = s.client_id
JOIN delivery_accounts da ON da.account_id = s.account_id AND da.id = s.delivery_account_id
WHERE s.account_id = %(account_id)s AND s.lead_id = %(lead_id)s
ORDER BY s.id;

-- name: get_send_detail
-- One send with its buyer's name and its account's type and agent, as ListSends shows it.
SELECT s.id, s.lead_id, s.client_id, c.name AS client_name, s.delivery_account_id,
       s.delivery_id, s.status, s.automated, s.price, s.request, s.response, s.reason,
       s.redirect_url, s.attempts, s.elapsed_ms, s.created_at, s.sent_at,
       da.account_type, da.agent_name, da.agent_phone, s.order_id, s.order_item_id,
       s.notes, s.resend_of, s.confirmed_at, s.source_share, s.redirect_notified_at,
       s.redirect_valid, s.redirect_response, s.returned_at, s.return_reason,
       s.ping_reference
FROM sends s
JOIN clients c ON c.account_id = s.account_id AND c.id = s.client_id
JOIN delivery_accounts da ON da.account_id = s.account_id AND da.id = s.delivery_account_id
WHERE s.account_id = %(account_id)s AND s.id = %(id)s;

-- name: list_scan_logs
-- A lead's scan log entries, oldest first.
SELECT lead_id, scanned_at, log FROM scan_logs
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s
ORDER BY id;

-- name: insert_scan_log
-- Add an entry to a lead's scan log.
INSERT INTO scan_logs (account_id, lead_id, log) VALUES (%(account_id)s, %(lead_id)s, %(log)s);

-- name: insert_manual_send
-- Reserve a manual send, in flight now (no delivery delay): it counts against the account's
-- caps and its order from now on, and is delivered at once by the caller.
INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id, delivery_id, status,
                   automated, price, next_attempt_at, lease_until, order_id, order_item_id,
                   notes, resend_of)
VALUES (%(account_id)s, %(lead_id)s, %(client_id)s, %(delivery_account_id)s, %(delivery_id)s,
        {{SendStatus.IN_FLIGHT}}, false, %(price)s, now(), now() + make_interval(secs => %(lease)s),
        %(order_id)s, %(order_item_id)s, %(notes)s, %(resend_of)s)
RETURNING id;

-- name: insert_logged_send
-- Record a send made outside leadrouter, finished as it is given (sold or rejected); a sale
-- charges the buyer's ledger, as the engine's sales do (finish_sends).
WITH logged AS (
  INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id, delivery_id, status,
                     automated, price, request, response, reason, attempts, sent_at,
                     order_id, order_item_id)
  VALUES (%(account_id)s, %(lead_id)s, %(client_id)s, %(delivery_account_id)s, %(delivery_id)s,
          %(status)s, false, %(price)s, %(request)s, %(response)s, %(reason)s, 1, now(),
          %(order_id)s, %(order_item_id)s)
  RETURNING account_id, id, client_id, lead_id, status, round(price, 2) AS amount
), balanced AS (
  INSERT INTO client_billing AS b (account_id, client_id, balance)
  SELECT account_id, client_id, -amount FROM logged WHERE status = {{SendStatus.SOLD}}
  ON CONFLICT (account_id, client_id)
    DO UPDATE SET balance = b.balance + excluded.balance, updated_at = now()
  RETURNING b.account_id, b.client_id, b.balance
), charged AS (
  INSERT INTO ledger_entries (account_id, client_id, kind, amount, balance, send_id, lead_id)
  SELECT l.account_id, l.client_id, 'sale', -l.amount, b.balance, l.id, l.lead_id
  FROM logged l JOIN balanced b ON b.account_id = l.account_id AND b.client_id = l.client_id
)
SELECT id FROM logged;

-- name: get_send_to_repeat
-- A send of the account, for ResendLead.
SELECT id, lead_id, client_id, delivery_account_id, status, order_id FROM sends
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: lock_buyer_sends
-- A buyer's sends of a lead, oldest first, locked while a sale is confirmed.
SELECT id, status, price, returned_at, confirmed_at FROM sends
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s AND client_id = %(client_id)s
ORDER BY id
FOR UPDATE;

-- name: confirm_sends
-- Confirm sales (a rejected send the buyer confirms becomes sold), each with what it added to
-- the source's price.
UPDATE sends s
SET status = {{SendStatus.SOLD}}, confirmed_at = now(), source_share = x.share,
    sent_at = coalesce(s.sent_at, now())
FROM unnest(%(ids)s::bigint[], %(shares)s::numeric[]) AS x(id, share)
WHERE s.account_id = %(account_id)s AND s.id = x.id AND s.confirmed_at IS NULL
  AND s.returned_at IS NULL
RETURNING s.id, s.confirmed_at;

-- name: find_redirect_send
-- The lead's latest send that redirected to this URL, locked while its notification is stored.
SELECT id FROM sends
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s AND redirect_url = %(url)s
ORDER BY id DESC
LIMIT 1
FOR UPDATE;

-- name: notify_redirect
-- Store whether the consumer reached the redirect; a later notification replaces it.
UPDATE sends
SET redirect_notified_at = now(), redirect_valid = %(valid)s, redirect_response = %(response)s
WHERE account_id = %(account_id)s AND id = %(id)s;
