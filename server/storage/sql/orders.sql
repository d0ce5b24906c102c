-- Buyers' orders with their items (server/storage/orders.py). Saved by key (config as code),
-- a row comes back only when something was written.

-- name: upsert_order
-- Create or change a buyer's order by key; a row only when something was written. Changing
-- its dates starts its period again from them.
INSERT INTO client_orders AS o (account_id, client_id, key, start_at, end_at, status, renewal,
                                auto_charge, period_start, period_end)
VALUES (%(account_id)s, %(client_id)s, %(key)s, %(start_at)s, %(end_at)s, %(status)s,
        %(renewal)s, %(auto_charge)s, %(start_at)s, %(end_at)s)
ON CONFLICT (account_id, client_id, key) DO UPDATE
SET start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at, status = EXCLUDED.status,
    renewal = EXCLUDED.renewal, auto_charge = EXCLUDED.auto_charge,
    period_start = CASE WHEN (o.start_at, o.end_at) = (EXCLUDED.start_at, EXCLUDED.end_at)
                        THEN o.period_start ELSE EXCLUDED.start_at END,
    period_end = CASE WHEN (o.start_at, o.end_at) = (EXCLUDED.start_at, EXCLUDED.end_at)
                      THEN o.period_end ELSE EXCLUDED.end_at END,
    renewals = CASE WHEN (o.start_at, o.end_at) = (EXCLUDED.start_at, EXCLUDED.end_at)
                    THEN o.renewals ELSE 0 END,
    updated_at = now()
WHERE (o.start_at, o.end_at, o.status, o.renewal, o.auto_charge)
      IS DISTINCT FROM
      (EXCLUDED.start_at, EXCLUDED.end_at, EXCLUDED.status, EXCLUDED.renewal,
       EXCLUDED.auto_charge)
RETURNING id, (xmax = 0) AS created;

-- name: upsert_order_item
-- Create or change an order's item by key; a row only when something was written.
INSERT INTO client_order_items AS i (account_id, order_id, key, description, quantity,
                                     delivery_account_id)
VALUES (%(account_id)s, %(order_id)s, %(key)s, %(description)s, %(quantity)s,
        %(delivery_account_id)s)
ON CONFLICT (account_id, order_id, key) DO UPDATE
SET description = EXCLUDED.description, quantity = EXCLUDED.quantity,
    delivery_account_id = EXCLUDED.delivery_account_id
WHERE (i.description, i.quantity, i.delivery_account_id)
      IS DISTINCT FROM
      (EXCLUDED.description, EXCLUDED.quantity, EXCLUDED.delivery_account_id)
RETURNING id, (xmax = 0) AS created;

-- name: delete_stale_order_items
-- Drop an order's items the document no longer names, unless sends count against them;
-- returns the keys of the stale items that are kept.
WITH gone AS (
  DELETE FROM client_order_items i
  WHERE i.account_id = %(account_id)s AND i.order_id = %(order_id)s
    AND NOT (i.key = ANY(%(keys)s))
    AND NOT EXISTS (SELECT 1 FROM sends s
                    WHERE s.account_id = i.account_id AND s.order_item_id = i.id)
  RETURNING i.id
)
SELECT i.key, (SELECT count(*) FROM gone) AS dropped
FROM client_order_items i
WHERE i.account_id = %(account_id)s AND i.order_id = %(order_id)s
  AND NOT (i.key = ANY(%(keys)s)) AND i.id NOT IN (SELECT id FROM gone);

-- name: list_orders
-- Orders of the account's buyers (all, or one buyer's), with their items as JSON and the
-- sends counted against them in their current period (held: with pings' live reservations).
SELECT o.id, o.client_id, o.key, o.start_at, o.end_at, o.status, o.renewal, o.auto_charge,
       o.period_start, o.period_end, o.renewals,
       EXISTS (SELECT 1 FROM order_filters f
               WHERE f.account_id = o.account_id AND f.order_id = o.id) AS filtered,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'id', i.id, 'key', i.key, 'description', i.description,
                   'quantity', i.quantity, 'account_id', i.delivery_account_id,
                   'held', (SELECT count(*) FROM sends s
                            WHERE s.account_id = i.account_id AND s.order_item_id = i.id
                              AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}}) AND s.created_at >= o.period_start)
                           + (SELECT count(*) FROM ping_reservations r
                              WHERE r.order_item_id = i.id AND r.account_id = i.account_id
                                AND NOT r.used AND r.expires_at > clock_timestamp()
                                AND r.created_at >= o.period_start),
                   'sold', (SELECT count(*) FROM sends s
                            WHERE s.account_id = i.account_id AND s.order_item_id = i.id
                              AND s.status = {{SendStatus.SOLD}} AND s.created_at >= o.period_start))
                   ORDER BY i.id)
                 FROM client_order_items i
                 WHERE i.account_id = o.account_id AND i.order_id = o.id), '[]') AS items
FROM client_orders o
WHERE o.account_id = %(account_id)s
  AND (%(client_ids)s::bigint[] IS NULL OR o.client_id = ANY(%(client_ids)s))
ORDER BY o.id;

-- Saved by id (server/services/buyers/edits.py): a key given as NULL keeps the stored key; each
-- update writes only when something changed and then returns the id.

-- name: order_for_update
-- One order's buyer and the ids of its items, locked for an edit.
SELECT o.id, o.client_id,
       coalesce((SELECT array_agg(i.id ORDER BY i.id) FROM client_order_items i
                 WHERE i.account_id = o.account_id AND i.order_id = o.id),
                '{}'::bigint[]) AS item_ids
FROM client_orders o
WHERE o.account_id = %(account_id)s AND o.id = %(id)s
FOR UPDATE;

-- name: order_client
-- The buyer of one order (to read the order back).
SELECT client_id FROM client_orders WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: insert_order
-- Create a buyer's order; its first period runs from start to end.
INSERT INTO client_orders (account_id, client_id, key, start_at, end_at, status, renewal,
                           auto_charge, period_start, period_end)
VALUES (%(account_id)s, %(client_id)s, %(key)s, %(start_at)s, %(end_at)s, %(status)s,
        %(renewal)s, %(auto_charge)s, %(start_at)s, %(end_at)s)
RETURNING id;

-- name: update_order
-- Change an order by id, as upsert_order does by key: changing its dates starts its period
-- again from them. A row only when something was written.
UPDATE client_orders AS o
SET key = coalesce(%(key)s, o.key), start_at = %(start_at)s, end_at = %(end_at)s,
    status = %(status)s, renewal = %(renewal)s, auto_charge = %(auto_charge)s,
    period_start = CASE WHEN (o.start_at, o.end_at) = (%(start_at)s, %(end_at)s)
                        THEN o.period_start ELSE %(start_at)s END,
    period_end = CASE WHEN (o.start_at, o.end_at) = (%(start_at)s, %(end_at)s)
                      THEN o.period_end ELSE %(end_at)s END,
    renewals = CASE WHEN (o.start_at, o.end_at) = (%(start_at)s, %(end_at)s)
                    THEN o.renewals ELSE 0 END,
    updated_at = now()
WHERE o.account_id = %(account_id)s AND o.id = %(id)s
  AND (o.key, o.start_at, o.end_at, o.status, o.renewal, o.auto_charge)
      IS DISTINCT FROM
      (coalesce(%(key)s, o.key), %(start_at)s::timestamptz, %(end_at)s::timestamptz,
       %(status)s::smallint, %(renewal)s::smallint, %(auto_charge)s::boolean)
RETURNING id;

-- name: insert_order_item
-- Add an item to an order.
INSERT INTO client_order_items (account_id, order_id, key, description, quantity,
                                delivery_account_id)
VALUES (%(account_id)s, %(order_id)s, %(key)s, %(description)s, %(quantity)s,
        %(delivery_account_id)s)
RETURNING id;

-- name: update_order_item
-- Change an order's item by id; a row only when something was written.
UPDATE client_order_items AS i
SET key = coalesce(%(key)s, i.key), description = %(description)s, quantity = %(quantity)s,
    delivery_account_id = %(delivery_account_id)s
WHERE i.account_id = %(account_id)s AND i.order_id = %(order_id)s AND i.id = %(id)s
  AND (i.key, i.description, i.quantity, i.delivery_account_id)
      IS DISTINCT FROM
      (coalesce(%(key)s, i.key), %(description)s, %(quantity)s::integer,
       %(delivery_account_id)s::bigint)
RETURNING id;

-- name: delete_order_items_by_id
-- Drop an order's items other than the given ids, unless sends count against them; returns
-- every item left out, with whether it was dropped (the statement sees the items as before).
WITH gone AS (
  DELETE FROM client_order_items i
  WHERE i.account_id = %(account_id)s AND i.order_id = %(order_id)s
    AND NOT (i.id = ANY(%(ids)s::bigint[]))
    AND NOT EXISTS (SELECT 1 FROM sends s
                    WHERE s.account_id = i.account_id AND s.order_item_id = i.id)
  RETURNING i.id
)
SELECT i.id, i.id IN (SELECT id FROM gone) AS dropped
FROM client_order_items i
WHERE i.account_id = %(account_id)s AND i.order_id = %(order_id)s
  AND NOT (i.id = ANY(%(ids)s::bigint[]))
ORDER BY i.id;

-- name: lock_client_orders
-- A buyer's orders, locked while a send against one of them is decided: order quantities
-- hold across processes.
SELECT id FROM client_orders
WHERE account_id = %(account_id)s AND client_id = %(client_id)s
ORDER BY id
FOR UPDATE;

-- name: renew_order
-- Move an order to its next period (server/domain/sales/orders.py renewed_period).
UPDATE client_orders
SET period_start = %(period_start)s, period_end = %(period_end)s, renewals = renewals + 1,
    updated_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s;

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
