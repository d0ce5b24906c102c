-- name: lock_lead_for_operation
-- A lead with its campaign's pricing, locked while a manual operation changes its sends or
-- its price (NO KEY UPDATE: the engine's sends and scan log entries are not blocked), and
-- the transaction's clock.
SELECT l.id, l.lead_type_id, l.pricing_model, l.price, l.pending_qc, l.qc_rejected,
       c.pricing_model AS campaign_model, c.pricing_amount, now() AS now
FROM leads l
JOIN campaigns c ON c.account_id = l.account_id AND c.id = l.campaign_id
WHERE l.account_id = %(account_id)s AND l.id = %(id)s
FOR NO KEY UPDATE OF l;

-- name: lock_lead_job
-- The lead's distribution job, if any, locked so a manual send and a waterfall step for the
-- same lead are decided one after the other.
SELECT state FROM distribution_jobs
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s
FOR UPDATE;

-- name: get_operation_client
-- A buyer of the account.
SELECT id, name, use_delivery_tiers FROM clients
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: get_operation_account
-- A delivery account of the account, with its delivery method's lead type.
SELECT a.id, a.client_id, a.delivery_id, a.price, d.lead_type_id
FROM delivery_accounts a
JOIN deliveries d ON d.account_id = a.account_id AND d.id = a.delivery_id
WHERE a.account_id = %(account_id)s AND a.id = %(id)s;

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
-- Record a send made outside leadrouter, finished as it is given (sold or rejected).
INSERT INTO sends (account_id, lead_id, client_id, delivery_account_id, delivery_id, status,
                   automated, price, request, response, reason, attempts, sent_at,
                   order_id, order_item_id)
VALUES (%(account_id)s, %(lead_id)s, %(client_id)s, %(delivery_account_id)s, %(delivery_id)s,
        %(status)s, false, %(price)s, %(request)s, %(response)s, %(reason)s, 1, now(),
        %(order_id)s, %(order_item_id)s)
RETURNING id;

-- name: get_order_items
-- An order of the account with its items, oldest item first (no row: no such order).
SELECT o.id AS order_id, o.client_id, i.id AS item_id, i.delivery_account_id
FROM client_orders o
LEFT JOIN client_order_items i ON i.account_id = o.account_id AND i.order_id = o.id
WHERE o.account_id = %(account_id)s AND o.id = %(order_id)s
ORDER BY i.id;

-- name: get_order_item
-- An order item of the account with its order's buyer.
SELECT i.id AS item_id, i.order_id, i.delivery_account_id, o.client_id
FROM client_order_items i
JOIN client_orders o ON o.account_id = i.account_id AND o.id = i.order_id
WHERE i.account_id = %(account_id)s AND i.id = %(id)s;

-- name: get_send_to_repeat
-- A send of the account, for ResendLead.
SELECT id, lead_id, client_id, delivery_account_id, status, order_id FROM sends
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: get_send_detail
-- One send with its buyer's name, as ListSends shows it.
SELECT s.id, s.lead_id, s.client_id, c.name AS client_name, s.delivery_account_id,
       s.delivery_id, s.status, s.automated, s.price, s.request, s.response, s.reason,
       s.redirect_url, s.attempts, s.elapsed_ms, s.created_at, s.sent_at, s.order_id,
       s.order_item_id, s.notes, s.resend_of, s.confirmed_at, s.source_share,
       s.redirect_notified_at, s.redirect_valid, s.redirect_response, s.returned_at,
       s.return_reason
FROM sends s
JOIN clients c ON c.account_id = s.account_id AND c.id = s.client_id
WHERE s.account_id = %(account_id)s AND s.id = %(id)s;

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

-- name: settle_lead
-- Add a confirmed sale's settlement to the price the account owes the lead's source, and show
-- it as the Price of the lead's post (the status URL).
WITH lead AS (
  UPDATE leads SET price = price + %(amount)s
  WHERE account_id = %(account_id)s AND id = %(lead_id)s
  RETURNING account_id, id, price
), post AS (
  UPDATE posts p SET price = lead.price
  FROM lead
  WHERE p.account_id = lead.account_id AND p.lead_id = lead.id
)
SELECT price FROM lead;

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

-- name: lead_exists
-- Whether the account has this lead.
SELECT id FROM leads WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: lead_send_details
-- A lead's sends, oldest first, with what manual operations recorded on them.
SELECT id, client_id, delivery_account_id, status, automated, price, response, reason,
       redirect_url, sent_at, order_id, order_item_id, notes, resend_of, confirmed_at,
       source_share, redirect_notified_at, redirect_valid, redirect_response
FROM sends
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s
ORDER BY id;

-- name: client_contacts
-- Buyers' names, contact details and notes.
SELECT id, name, contact, notes FROM clients
WHERE account_id = %(account_id)s AND id = ANY(%(ids)s::bigint[]);

-- name: get_lead_field_of_type
-- A lead type of the account and, when it has it, one of its fields (field_name NULL).
SELECT t.id, f.name AS field_name
FROM lead_types t
LEFT JOIN lead_fields f ON f.account_id = t.account_id AND f.lead_type_id = t.id
  AND f.id = %(field_id)s
WHERE t.account_id = %(account_id)s AND t.id = %(lead_type_id)s;

-- name: lead_type_accounts
-- The delivery accounts whose delivery method serves a lead type, with their criteria.
SELECT a.id, a.client_id, a.delivery_id, a.key, a.description, a.price, a.hour_max,
       a.day_max, a.month_max, a.use_order, a.status, a.delivery_delay_seconds,
       a.redirect_url, a.automation_enabled, a.account_type, a.agent_name, a.agent_phone,
       a.criteria
FROM delivery_accounts a
JOIN deliveries d ON d.account_id = a.account_id AND d.id = a.delivery_id
WHERE a.account_id = %(account_id)s AND d.lead_type_id = %(lead_type_id)s
ORDER BY a.id;

-- name: wake_lead_job
-- The lead's sales changed by hand: its waterfall, unless done, takes its next step now.
UPDATE distribution_jobs SET state = 'pending', run_at = now(), updated_at = now()
WHERE account_id = %(account_id)s AND lead_id = %(lead_id)s AND state <> 'done';
