-- Pings' orders and the capacity they reserve (server/storage/ping_orders.py).

-- name: ping_clock
-- The transaction's clock and the account's buyer version, as a ping's choice reads them.
SELECT now() AS now,
       coalesce((SELECT version FROM buyer_versions WHERE account_id = %(account_id)s), 0)
         AS buyer_version;

-- name: insert_ping_order
-- Store a ping's order, expiring `seconds` after the transaction's clock, with the buyers it
-- reserves (in the choice's order) in one statement; returns when it expires. A buyer's
-- dynamic offer gets an id from the static offers' sequence.
WITH made AS (
  INSERT INTO ping_orders (account_id, id, request_id, source_id, campaign_id, lead_type_id,
                           "values", price, expires_at)
  VALUES (%(account_id)s, %(id)s, %(request_id)s, %(source_id)s, %(campaign_id)s,
          %(lead_type_id)s, %(values)s, %(price)s,
          now() + make_interval(secs => %(seconds)s))
  RETURNING account_id, id, expires_at
), reserved AS (
  INSERT INTO ping_reservations (account_id, ping_order_id, position, client_id,
                                 delivery_account_id, price, order_id, order_item_id,
                                 reference, expires_at, offer, offer_id)
  SELECT m.account_id, m.id, r.position, r.client_id, r.delivery_account_id, r.price,
         r.order_id, r.order_item_id, coalesce(r.reference, ''), m.expires_at, r.offer,
         CASE WHEN r.offer IS NULL THEN NULL
              ELSE nextval(pg_get_serial_sequence('delivery_account_offers', 'id')) END
  FROM made m
  CROSS JOIN jsonb_to_recordset(%(reservations)s)
    AS r(position integer, client_id bigint, delivery_account_id bigint, price numeric,
         order_id bigint, order_item_id bigint, reference text, offer jsonb)
)
SELECT expires_at FROM made;

-- name: ping_order_offers
-- The offers of the buyers a campaign's order reserved, in order: a reservation's dynamic
-- offer (from its buyer's ping answer) in place of its delivery account's static offer, and a
-- NULL id for a reservation with neither. No row: no such order of the campaign (an order
-- reserves at least one buyer).
SELECT r.delivery_account_id, r.client_id, c.name AS client_name,
       coalesce(r.offer_id, s.id) AS id,
       CASE WHEN r.offer_id IS NOT NULL THEN r.offer
            WHEN s.id IS NOT NULL THEN jsonb_build_object(
              'company_name', s.company_name, 'company_phone', s.company_phone,
              'name', s.name, 'description', s.description, 'url', s.url,
              'image_url', s.image_url, 'privacy_url', s.privacy_url,
              'terms_url', s.terms_url, 'duration', s.duration, 'amount', s.amount::text,
              'tcpa_consent_text', s.tcpa_consent_text) END AS offer
FROM ping_orders o
JOIN ping_reservations r ON r.account_id = o.account_id AND r.ping_order_id = o.id
JOIN clients c ON c.account_id = r.account_id AND c.id = r.client_id
LEFT JOIN delivery_account_offers s
  ON s.account_id = r.account_id AND s.delivery_account_id = r.delivery_account_id
WHERE o.account_id = %(account_id)s AND o.id = %(id)s AND o.campaign_id = %(campaign_id)s
ORDER BY r.position;

-- name: lock_ping_order
-- A ping's order of the account, locked while the post naming it is decided, with the
-- buyers it reserved in order.
SELECT o.id, o.campaign_id, o."values", o.price, o.used_at IS NOT NULL AS used,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'client_id', r.client_id, 'delivery_account_id', r.delivery_account_id,
                   'price', r.price::text, 'order_id', r.order_id,
                   'order_item_id', r.order_item_id, 'reference', r.reference)
                   ORDER BY r.position)
                 FROM ping_reservations r
                 WHERE r.account_id = o.account_id AND r.ping_order_id = o.id), '[]')
         AS reservations
FROM ping_orders o
WHERE o.account_id = %(account_id)s AND o.id = %(id)s
FOR UPDATE OF o;

-- name: ping_order_live
-- Whether a locked order is unexpired now, by the clock rather than the transaction's start:
-- read once its buyers' locks are held, so a ping that counted it as expired has committed.
SELECT expires_at > clock_timestamp() AS live
FROM ping_orders
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: use_ping_order
-- The order is used by a post's lead: its reservations stop counting, the lead's sends count.
WITH used AS (
  UPDATE ping_reservations SET used = true
  WHERE account_id = %(account_id)s AND ping_order_id = %(id)s
)
UPDATE ping_orders SET used_at = now(), lead_id = %(lead_id)s
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: get_ping_log
-- A ping's post log entry, by its RequestID or its OrderID, with its order and the buyers
-- the order reserved (named), in order. A queued ping's request is its queued post's entry's.
SELECT p.id AS request_id, p.received_at,
       CASE WHEN p.request_post_id IS NULL THEN p.request_body
            ELSE (SELECT q.request_body FROM posts q
                  WHERE q.account_id = p.account_id AND q.id = p.request_post_id) END
         AS request_body,
       p.is_valid, p.response_type,
       p.response_details, p.steps, p.price, p.campaign_id, o.id AS order_id, o.expires_at,
       o.used_at, o.lead_id,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'client_id', r.client_id, 'client_name', c.name,
                   'delivery_account_id', r.delivery_account_id, 'price', r.price::text,
                   'reference', r.reference)
                   ORDER BY r.position)
                 FROM ping_reservations r
                 JOIN clients c ON c.account_id = r.account_id AND c.id = r.client_id
                 WHERE r.account_id = o.account_id AND r.ping_order_id = o.id), '[]')
         AS reservations
FROM posts p
LEFT JOIN ping_orders o ON o.request_id = p.id AND o.account_id = p.account_id
WHERE p.account_id = %(account_id)s AND p.ping
  AND p.id = coalesce((SELECT request_id FROM ping_orders
                       WHERE id = %(id)s AND account_id = %(account_id)s), %(id)s);
