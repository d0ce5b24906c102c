-- name: client_states
-- Rotation position and leads served in the last 24 hours, per buyer.
SELECT c.id, c.rr_position,
       (SELECT count(*) FROM sends s
        WHERE s.account_id = c.account_id AND s.client_id = c.id AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}})
          AND s.created_at >= now() - interval '24 hours') AS served
FROM clients c
WHERE c.account_id = %(account_id)s AND c.id = ANY(%(ids)s);

-- name: lock_delivery_account
-- One delivery account, locked while a send to it is decided: caps hold across processes.
SELECT id FROM delivery_accounts
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: lock_client_orders
-- A buyer's orders, locked while a send against one of them is decided: order quantities
-- hold across processes.
SELECT id FROM client_orders
WHERE account_id = %(account_id)s AND client_id = %(client_id)s
ORDER BY id
FOR UPDATE;

-- name: renew_order
-- Move an order to its next period (server/domain/orders.py renewed_period).
UPDATE client_orders
SET period_start = %(period_start)s, period_end = %(period_end)s, renewals = renewals + 1,
    updated_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: advance_rotation
-- The buyer was offered a lead through the rotation: it goes to the back of the line.
UPDATE clients SET rr_position = nextval('rotation_numbers')
WHERE account_id = %(account_id)s AND id = %(id)s;
