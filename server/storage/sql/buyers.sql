-- name: upsert_client
-- Create or change a buyer by key; returns a row only when something was written.
INSERT INTO clients AS c (account_id, key, name, status, client_group, time_zone, contact,
                          username, password_hash, automation, secondary_automation, priority,
                          weight, delivery_group, use_delivery_tiers, notes)
VALUES (%(account_id)s, %(key)s, %(name)s, %(status)s, %(client_group)s, %(time_zone)s,
        %(contact)s, %(username)s, %(password_hash)s, %(automation)s, %(secondary_automation)s,
        %(priority)s, %(weight)s, %(delivery_group)s, %(use_delivery_tiers)s, %(notes)s)
ON CONFLICT (account_id, key) DO UPDATE
SET name = EXCLUDED.name, status = EXCLUDED.status, client_group = EXCLUDED.client_group,
    time_zone = EXCLUDED.time_zone, contact = EXCLUDED.contact, username = EXCLUDED.username,
    password_hash = EXCLUDED.password_hash, automation = EXCLUDED.automation,
    secondary_automation = EXCLUDED.secondary_automation, priority = EXCLUDED.priority,
    weight = EXCLUDED.weight, delivery_group = EXCLUDED.delivery_group,
    use_delivery_tiers = EXCLUDED.use_delivery_tiers, notes = EXCLUDED.notes, updated_at = now()
WHERE (c.name, c.status, c.client_group, c.time_zone, c.contact, c.username, c.password_hash,
       c.automation, c.secondary_automation, c.priority, c.weight, c.delivery_group,
       c.use_delivery_tiers, c.notes)
      IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.status, EXCLUDED.client_group, EXCLUDED.time_zone,
       EXCLUDED.contact, EXCLUDED.username, EXCLUDED.password_hash, EXCLUDED.automation,
       EXCLUDED.secondary_automation, EXCLUDED.priority, EXCLUDED.weight,
       EXCLUDED.delivery_group, EXCLUDED.use_delivery_tiers, EXCLUDED.notes)
RETURNING id, (xmax = 0) AS created;

-- name: client_secrets_by_key
-- Buyers' ids and stored password hashes, by key.
SELECT key, id, password_hash FROM clients
WHERE account_id = %(account_id)s AND key = ANY(%(keys)s);

-- name: upsert_delivery
-- Create or change a buyer's delivery method by key; a row only when something was written.
INSERT INTO deliveries AS d (account_id, client_id, key, name, type, enabled, lead_type_id,
                             settings)
VALUES (%(account_id)s, %(client_id)s, %(key)s, %(name)s, %(type)s, %(enabled)s,
        %(lead_type_id)s, %(settings)s)
ON CONFLICT (account_id, client_id, key) DO UPDATE
SET name = EXCLUDED.name, type = EXCLUDED.type, enabled = EXCLUDED.enabled,
    lead_type_id = EXCLUDED.lead_type_id, settings = EXCLUDED.settings, updated_at = now()
WHERE (d.name, d.type, d.enabled, d.lead_type_id, d.settings)
      IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.type, EXCLUDED.enabled, EXCLUDED.lead_type_id, EXCLUDED.settings)
RETURNING id, (xmax = 0) AS created;

-- name: delivery_settings_by_key
-- A buyer's delivery methods' ids and stored settings, by key (to keep unset secrets).
SELECT key, id, settings FROM deliveries
WHERE account_id = %(account_id)s AND client_id = %(client_id)s;

-- name: upsert_delivery_account
-- Create or change a buyer's delivery account by key; a row only when something was written.
INSERT INTO delivery_accounts AS a (account_id, client_id, delivery_id, key, description,
                                    price, hour_max, day_max, month_max, use_order, status,
                                    delivery_delay_seconds, redirect_url, automation_enabled,
                                    account_type, agent_name, agent_phone, criteria)
VALUES (%(account_id)s, %(client_id)s, %(delivery_id)s, %(key)s, %(description)s, %(price)s,
        %(hour_max)s, %(day_max)s, %(month_max)s, %(use_order)s, %(status)s,
        %(delivery_delay_seconds)s, %(redirect_url)s, %(automation_enabled)s, %(account_type)s,
        %(agent_name)s, %(agent_phone)s, %(criteria)s)
ON CONFLICT (account_id, client_id, key) DO UPDATE
SET delivery_id = EXCLUDED.delivery_id, description = EXCLUDED.description,
    price = EXCLUDED.price, hour_max = EXCLUDED.hour_max, day_max = EXCLUDED.day_max,
    month_max = EXCLUDED.month_max, use_order = EXCLUDED.use_order, status = EXCLUDED.status,
    delivery_delay_seconds = EXCLUDED.delivery_delay_seconds,
    redirect_url = EXCLUDED.redirect_url, automation_enabled = EXCLUDED.automation_enabled,
    account_type = EXCLUDED.account_type, agent_name = EXCLUDED.agent_name,
    agent_phone = EXCLUDED.agent_phone, criteria = EXCLUDED.criteria, updated_at = now()
WHERE (a.delivery_id, a.description, a.price, a.hour_max, a.day_max, a.month_max, a.use_order,
       a.status, a.delivery_delay_seconds, a.redirect_url, a.automation_enabled,
       a.account_type, a.agent_name, a.agent_phone, a.criteria)
      IS DISTINCT FROM
      (EXCLUDED.delivery_id, EXCLUDED.description, EXCLUDED.price, EXCLUDED.hour_max,
       EXCLUDED.day_max, EXCLUDED.month_max, EXCLUDED.use_order, EXCLUDED.status,
       EXCLUDED.delivery_delay_seconds, EXCLUDED.redirect_url, EXCLUDED.automation_enabled,
       EXCLUDED.account_type, EXCLUDED.agent_name, EXCLUDED.agent_phone, EXCLUDED.criteria)
RETURNING id, (xmax = 0) AS created;

-- name: id_by_key
-- The id of a buyer, delivery method, delivery account, order, order item or distribution
-- list saved unchanged; parent_id is the buyer's id (the order's for an item).
SELECT id FROM clients WHERE account_id = %(account_id)s AND key = %(key)s
  AND %(kind)s = 'client'
UNION ALL
SELECT id FROM deliveries WHERE account_id = %(account_id)s AND client_id = %(parent_id)s
  AND key = %(key)s AND %(kind)s = 'delivery'
UNION ALL
SELECT id FROM delivery_accounts WHERE account_id = %(account_id)s
  AND client_id = %(parent_id)s AND key = %(key)s AND %(kind)s = 'account'
UNION ALL
SELECT id FROM client_orders WHERE account_id = %(account_id)s
  AND client_id = %(parent_id)s AND key = %(key)s AND %(kind)s = 'order'
UNION ALL
SELECT id FROM client_order_items WHERE account_id = %(account_id)s
  AND order_id = %(parent_id)s AND key = %(key)s AND %(kind)s = 'order item'
UNION ALL
SELECT id FROM distribution_lists WHERE account_id = %(account_id)s AND key = %(key)s
  AND %(kind)s = 'distribution list';

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

-- name: upsert_list
-- Create or change a distribution list by key; a row only when something was written.
INSERT INTO distribution_lists AS l (account_id, key, lead_type_id, description, field_name,
                                     default_client_id, status, depend_field, depend_value)
VALUES (%(account_id)s, %(key)s, %(lead_type_id)s, %(description)s, %(field_name)s,
        %(default_client_id)s, %(status)s, %(depend_field)s, %(depend_value)s)
ON CONFLICT (account_id, key) DO UPDATE
SET lead_type_id = EXCLUDED.lead_type_id, description = EXCLUDED.description,
    field_name = EXCLUDED.field_name, default_client_id = EXCLUDED.default_client_id,
    status = EXCLUDED.status, depend_field = EXCLUDED.depend_field,
    depend_value = EXCLUDED.depend_value, updated_at = now()
WHERE (l.lead_type_id, l.description, l.field_name, l.default_client_id, l.status,
       l.depend_field, l.depend_value)
      IS DISTINCT FROM
      (EXCLUDED.lead_type_id, EXCLUDED.description, EXCLUDED.field_name,
       EXCLUDED.default_client_id, EXCLUDED.status, EXCLUDED.depend_field,
       EXCLUDED.depend_value)
RETURNING id, (xmax = 0) AS created;

-- name: list_items
-- A distribution list's items.
SELECT value, shown, client_id FROM distribution_list_items
WHERE account_id = %(account_id)s AND list_id = %(list_id)s
ORDER BY value;

-- name: replace_list_items
-- Replace a distribution list's items with the given ones.
WITH gone AS (
  DELETE FROM distribution_list_items
  WHERE account_id = %(account_id)s AND list_id = %(list_id)s
    AND NOT (value = ANY(%(values)s::text[]))
)
INSERT INTO distribution_list_items (account_id, list_id, value, shown, client_id)
SELECT %(account_id)s, %(list_id)s, x.value, x.shown, x.client_id
FROM unnest(%(values)s::text[], %(shown)s::text[], %(client_ids)s::bigint[])
     AS x(value, shown, client_id)
ON CONFLICT (account_id, list_id, value) DO UPDATE
SET shown = EXCLUDED.shown, client_id = EXCLUDED.client_id;

-- name: client_ids_by_key
-- Stored buyers' ids by key.
SELECT key, id FROM clients WHERE account_id = %(account_id)s AND key = ANY(%(keys)s);

-- name: bump_buyer_version
-- Mark the account's buyers as changed, so every process reloads its cached snapshot.
INSERT INTO buyer_versions (account_id) VALUES (%(account_id)s)
ON CONFLICT (account_id) DO UPDATE SET version = buyer_versions.version + 1;

-- name: buyer_version
-- The account's buyer configuration version (0 before any buyer was saved).
SELECT coalesce((SELECT version FROM buyer_versions WHERE account_id = %(account_id)s), 0)
       AS version;

-- name: list_clients
-- The account's buyers, or one by id or key.
SELECT id, key, name, status, client_group, time_zone, contact, username,
       password_hash IS NOT NULL AS has_password, automation, secondary_automation, priority,
       weight, delivery_group, use_delivery_tiers, notes, created_at
FROM clients
WHERE account_id = %(account_id)s AND (%(id)s::bigint IS NULL OR id = %(id)s)
  AND (%(key)s::text IS NULL OR key = %(key)s)
ORDER BY id;

-- name: list_deliveries
-- Delivery methods of the account's buyers (all, or one buyer's).
SELECT id, client_id, key, name, type, enabled, lead_type_id, settings
FROM deliveries
WHERE account_id = %(account_id)s AND (%(client_id)s::bigint IS NULL OR client_id = %(client_id)s)
ORDER BY id;

-- name: list_delivery_accounts
-- Delivery accounts of the account's buyers (all, or one buyer's).
SELECT id, client_id, delivery_id, key, description, price, hour_max, day_max, month_max,
       use_order, status, delivery_delay_seconds, redirect_url, automation_enabled,
       account_type, agent_name, agent_phone, criteria
FROM delivery_accounts
WHERE account_id = %(account_id)s AND (%(client_id)s::bigint IS NULL OR client_id = %(client_id)s)
ORDER BY id;

-- name: list_orders
-- Orders of the account's buyers (all, or one buyer's), with their items as JSON and the
-- sends counted against them in their current period.
SELECT o.id, o.client_id, o.key, o.start_at, o.end_at, o.status, o.renewal, o.auto_charge,
       o.period_start, o.period_end, o.renewals,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'id', i.id, 'key', i.key, 'description', i.description,
                   'quantity', i.quantity, 'account_id', i.delivery_account_id,
                   'held', (SELECT count(*) FROM sends s
                            WHERE s.account_id = i.account_id AND s.order_item_id = i.id
                              AND s.status IN (1, 2, 3) AND s.created_at >= o.period_start),
                   'sold', (SELECT count(*) FROM sends s
                            WHERE s.account_id = i.account_id AND s.order_item_id = i.id
                              AND s.status = 3 AND s.created_at >= o.period_start))
                   ORDER BY i.id)
                 FROM client_order_items i
                 WHERE i.account_id = o.account_id AND i.order_id = o.id), '[]') AS items
FROM client_orders o
WHERE o.account_id = %(account_id)s
  AND (%(client_ids)s::bigint[] IS NULL OR o.client_id = ANY(%(client_ids)s))
ORDER BY o.id;

-- name: lists_for_lead_type
-- A lead type's active distribution lists with their items, for the engine's cache.
SELECT l.id, coalesce(nullif(l.description, ''), l.key, 'list ' || l.id) AS name,
       l.field_name, l.default_client_id, l.depend_field, l.depend_value,
       coalesce((SELECT jsonb_object_agg(i.value, i.client_id)
                 FROM distribution_list_items i
                 WHERE i.account_id = l.account_id AND i.list_id = l.id), '{}') AS assigned
FROM distribution_lists l
WHERE l.account_id = %(account_id)s AND l.lead_type_id = %(lead_type_id)s AND l.status = 1
ORDER BY l.id;

-- name: list_distribution_lists
-- The account's distribution lists with their items.
SELECT l.id, l.key, l.lead_type_id, l.description, l.field_name, l.default_client_id,
       l.status, l.depend_field, l.depend_value,
       coalesce((SELECT jsonb_agg(jsonb_build_object('value', i.shown, 'client_id', i.client_id)
                                  ORDER BY i.value)
                 FROM distribution_list_items i
                 WHERE i.account_id = l.account_id AND i.list_id = l.id), '[]') AS items
FROM distribution_lists l
WHERE l.account_id = %(account_id)s
ORDER BY l.id;

-- name: buyer_snapshot
-- Every delivery account that could take a lead of this lead type, with its buyer and
-- delivery method: the distribution engine's cached view of the buyers.
SELECT a.id, a.client_id, a.delivery_id, a.key, a.description, a.price, a.hour_max,
       a.day_max, a.month_max, a.use_order, a.status, a.delivery_delay_seconds,
       a.redirect_url, a.automation_enabled, a.account_type, a.agent_name, a.agent_phone,
       a.criteria,
       c.name AS client_name, c.status AS client_status, c.time_zone, c.automation,
       c.secondary_automation, c.priority, c.weight, c.use_delivery_tiers,
       d.type AS delivery_type, d.enabled AS delivery_enabled, d.settings, d.name AS delivery_name
FROM delivery_accounts a
JOIN clients c ON c.account_id = a.account_id AND c.id = a.client_id
JOIN deliveries d ON d.account_id = a.account_id AND d.id = a.delivery_id
WHERE a.account_id = %(account_id)s AND d.lead_type_id = %(lead_type_id)s
ORDER BY a.id;
