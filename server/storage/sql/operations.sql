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
