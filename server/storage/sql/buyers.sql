-- Buyers (clients), their delivery methods and delivery accounts, and the account's buyer
-- version (server/storage/buyers.py). Saved by key (config as code), a row comes back only
-- when something was written.

-- name: upsert_client
-- Create or change a buyer by key; returns a row only when something was written.
INSERT INTO clients AS c (account_id, key, name, status, client_group, time_zone, contact,
                          username, password_hash, automation, secondary_automation, priority,
                          weight, delivery_group, use_delivery_tiers, notes, portal)
VALUES (%(account_id)s, %(key)s, %(name)s, %(status)s, %(client_group)s, %(time_zone)s,
        %(contact)s, %(username)s, %(password_hash)s, %(automation)s, %(secondary_automation)s,
        %(priority)s, %(weight)s, %(delivery_group)s, %(use_delivery_tiers)s, %(notes)s,
        %(portal)s)
ON CONFLICT (account_id, key) DO UPDATE
SET name = EXCLUDED.name, status = EXCLUDED.status, client_group = EXCLUDED.client_group,
    time_zone = EXCLUDED.time_zone, contact = EXCLUDED.contact, username = EXCLUDED.username,
    password_hash = EXCLUDED.password_hash, automation = EXCLUDED.automation,
    secondary_automation = EXCLUDED.secondary_automation, priority = EXCLUDED.priority,
    weight = EXCLUDED.weight, delivery_group = EXCLUDED.delivery_group,
    use_delivery_tiers = EXCLUDED.use_delivery_tiers, notes = EXCLUDED.notes,
    portal = EXCLUDED.portal, updated_at = now()
WHERE (c.name, c.status, c.client_group, c.time_zone, c.contact, c.username, c.password_hash,
       c.automation, c.secondary_automation, c.priority, c.weight, c.delivery_group,
       c.use_delivery_tiers, c.notes, c.portal)
      IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.status, EXCLUDED.client_group, EXCLUDED.time_zone,
       EXCLUDED.contact, EXCLUDED.username, EXCLUDED.password_hash, EXCLUDED.automation,
       EXCLUDED.secondary_automation, EXCLUDED.priority, EXCLUDED.weight,
       EXCLUDED.delivery_group, EXCLUDED.use_delivery_tiers, EXCLUDED.notes, EXCLUDED.portal)
RETURNING id, (xmax = 0) AS created;

-- name: client_secrets_by_key
-- Buyers' ids and stored password hashes, by key.
SELECT key, id, password_hash FROM clients
WHERE account_id = %(account_id)s AND key = ANY(%(keys)s);

-- name: upsert_delivery
-- Create or change a buyer's delivery method by key; a row only when something was written.
-- A lead category of NULL keeps the stored one (config as code does not name it).
INSERT INTO deliveries AS d (account_id, client_id, key, name, type, enabled, lead_type_id,
                             settings, lead_category_id)
VALUES (%(account_id)s, %(client_id)s, %(key)s, %(name)s, %(type)s, %(enabled)s,
        %(lead_type_id)s, %(settings)s, nullif(%(lead_category_id)s::bigint, 0))
ON CONFLICT (account_id, client_id, key) DO UPDATE
SET name = EXCLUDED.name, type = EXCLUDED.type, enabled = EXCLUDED.enabled,
    lead_type_id = EXCLUDED.lead_type_id, settings = EXCLUDED.settings,
    lead_category_id = CASE WHEN %(lead_category_id)s::bigint IS NULL THEN d.lead_category_id
                            ELSE EXCLUDED.lead_category_id END,
    updated_at = now()
WHERE (d.name, d.type, d.enabled, d.lead_type_id, d.settings, d.lead_category_id)
      IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.type, EXCLUDED.enabled, EXCLUDED.lead_type_id, EXCLUDED.settings,
       CASE WHEN %(lead_category_id)s::bigint IS NULL THEN d.lead_category_id
            ELSE EXCLUDED.lead_category_id END)
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
        %(agent_name)s, %(agent_phone)s, numbered_criteria(%(criteria)s))
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

-- name: criteria_by_key
-- A buyer's delivery accounts' stored criteria, by key (to keep their ids).
SELECT key, criteria FROM delivery_accounts
WHERE account_id = %(account_id)s AND client_id = %(client_id)s AND key IS NOT NULL;

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
       weight, delivery_group, use_delivery_tiers, notes, portal, created_at,
       (SELECT g.id FROM client_groups g
        WHERE g.account_id = clients.account_id AND client_group <> ''
          AND lower(g.description) = lower(clients.client_group)) AS group_id
FROM clients
WHERE account_id = %(account_id)s AND (%(id)s::bigint IS NULL OR id = %(id)s)
  AND (%(key)s::text IS NULL OR key = %(key)s)
ORDER BY id;

-- name: list_deliveries
-- Delivery methods of the account's buyers (all, or one buyer's), with the ids of their lead
-- type's fields by lower-cased name (for their mappings' LeadFieldUID).
SELECT id, client_id, key, name, type, enabled, lead_type_id, settings, created_at,
       coalesce(lead_category_id, 0) AS lead_category_id,
       coalesce((SELECT jsonb_object_agg(lower(f.name), f.id) FROM lead_fields f
                 WHERE f.account_id = d.account_id AND f.lead_type_id = d.lead_type_id), '{}')
         AS field_ids
FROM deliveries d
WHERE account_id = %(account_id)s AND (%(client_id)s::bigint IS NULL OR client_id = %(client_id)s)
ORDER BY id;

-- name: list_delivery_accounts
-- Delivery accounts of the account's buyers (all, or one buyer's), with the ids of their
-- lead type's fields by lower-cased name (for their criteria's LeadFieldUID).
SELECT id, client_id, delivery_id, key, description, price, hour_max, day_max, month_max,
       use_order, status, delivery_delay_seconds, redirect_url, automation_enabled,
       account_type, agent_name, agent_phone, criteria,
       coalesce((SELECT jsonb_object_agg(lower(f.name), f.id)
                 FROM deliveries d
                 JOIN lead_fields f ON f.account_id = d.account_id AND f.lead_type_id = d.lead_type_id
                 WHERE d.account_id = a.account_id AND d.id = a.delivery_id), '{}') AS field_ids,
       (SELECT to_jsonb(o) || jsonb_build_object('amount', o.amount::text)
        FROM delivery_account_offers o
        WHERE o.account_id = a.account_id AND o.delivery_account_id = a.id) AS offer
FROM delivery_accounts a
WHERE account_id = %(account_id)s AND (%(client_id)s::bigint IS NULL OR client_id = %(client_id)s)
ORDER BY id;

-- name: buyer_snapshot
-- Every delivery account that could take a lead of this lead type, with its buyer and
-- delivery method: the distribution engine's cached view of the buyers. An account's delivery
-- method is its own buyer's (server/services/buyers/edits.py refuses another's); saying so in
-- the join keeps a plan made before any ANALYZE from joining every delivery method with
-- every buyer of the account (10.8 s at 10,000 accounts, 55 ms with it).
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
  AND d.client_id = a.client_id
WHERE a.account_id = %(account_id)s AND d.lead_type_id = %(lead_type_id)s
ORDER BY a.id;

-- name: analyze_buyers
-- Fresh planner statistics for the tables the engine joins, after a large config apply; in
-- the apply's transaction, whose own new rows ANALYZE counts.
ANALYZE clients, deliveries, delivery_accounts;

-- Saved by id (server/services/buyers/edits.py): a key given as NULL keeps the stored key; each
-- update writes only when something changed and then returns the id.

-- name: client_for_update
-- One buyer's id and password hash, locked for an edit.
SELECT id, password_hash FROM clients
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: insert_client
-- Create a buyer.
INSERT INTO clients (account_id, key, name, status, client_group, time_zone, contact,
                     username, password_hash, automation, secondary_automation, priority,
                     weight, delivery_group, use_delivery_tiers, notes, portal)
VALUES (%(account_id)s, %(key)s, %(name)s, %(status)s, %(client_group)s, %(time_zone)s,
        %(contact)s, %(username)s, %(password_hash)s, %(automation)s, %(secondary_automation)s,
        %(priority)s, %(weight)s, %(delivery_group)s, %(use_delivery_tiers)s, %(notes)s,
        %(portal)s)
RETURNING id;

-- name: update_client
-- Change a buyer by id; a row only when something was written.
UPDATE clients AS c
SET key = coalesce(%(key)s, c.key), name = %(name)s, status = %(status)s,
    client_group = %(client_group)s, time_zone = %(time_zone)s, contact = %(contact)s,
    username = %(username)s, password_hash = %(password_hash)s, automation = %(automation)s,
    secondary_automation = %(secondary_automation)s, priority = %(priority)s,
    weight = %(weight)s, delivery_group = %(delivery_group)s,
    use_delivery_tiers = %(use_delivery_tiers)s, notes = %(notes)s, portal = %(portal)s,
    updated_at = now()
WHERE c.account_id = %(account_id)s AND c.id = %(id)s
  AND (c.key, c.name, c.status, c.client_group, c.time_zone, c.contact, c.username,
       c.password_hash, c.automation, c.secondary_automation, c.priority, c.weight,
       c.delivery_group, c.use_delivery_tiers, c.notes, c.portal)
      IS DISTINCT FROM
      (coalesce(%(key)s, c.key), %(name)s, %(status)s::smallint, %(client_group)s,
       %(time_zone)s, %(contact)s::jsonb, %(username)s, %(password_hash)s::text,
       %(automation)s::smallint, %(secondary_automation)s::smallint, %(priority)s::integer,
       %(weight)s::integer, %(delivery_group)s, %(use_delivery_tiers)s::boolean, %(notes)s,
       %(portal)s::jsonb)
RETURNING id;

-- name: clients_by_id
-- Which of these ids are buyers of the account.
SELECT id FROM clients WHERE account_id = %(account_id)s AND id = ANY(%(ids)s::bigint[]);

-- name: client_groups
-- The account's client groups, with how many buyers each has, in display order.
SELECT g.id, g.description AS name, g.display_order,
       (SELECT count(*) FROM clients c
        WHERE c.account_id = g.account_id AND lower(c.client_group) = lower(g.description))
         AS client_count
FROM client_groups g
WHERE g.account_id = %(account_id)s
ORDER BY g.display_order, lower(g.description), g.id;

-- name: client_group_for_update
-- One client group, locked for an edit.
SELECT id, description, display_order FROM client_groups
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: insert_client_group
-- Create a client group.
INSERT INTO client_groups (account_id, description, display_order)
VALUES (%(account_id)s, %(description)s, %(display_order)s)
RETURNING id;

-- name: update_client_group
-- Change a client group's name and order.
UPDATE client_groups SET description = %(description)s, display_order = %(display_order)s
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: rename_client_group
-- A renamed group's buyers follow it.
UPDATE clients SET client_group = %(description)s, updated_at = now()
WHERE account_id = %(account_id)s AND lower(client_group) = lower(%(old)s)
  AND client_group <> %(description)s;

-- name: delivery_by_id
-- One delivery method of the account's buyers, as list_deliveries reads it.
SELECT id, client_id, key, name, type, enabled, lead_type_id, settings, created_at,
       coalesce(lead_category_id, 0) AS lead_category_id,
       coalesce((SELECT jsonb_object_agg(lower(f.name), f.id) FROM lead_fields f
                 WHERE f.account_id = d.account_id AND f.lead_type_id = d.lead_type_id), '{}')
         AS field_ids
FROM deliveries d
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: delivery_for_update
-- One delivery method, locked for an edit.
SELECT id, client_id, lead_type_id, settings
FROM deliveries
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: insert_delivery
-- Create a delivery method for a buyer.
INSERT INTO deliveries (account_id, client_id, key, name, type, enabled, lead_type_id, settings,
                        lead_category_id)
VALUES (%(account_id)s, %(client_id)s, %(key)s, %(name)s, %(type)s, %(enabled)s,
        %(lead_type_id)s, %(settings)s, nullif(%(lead_category_id)s::bigint, 0))
RETURNING id;

-- name: update_delivery
-- Change a delivery method by id (a lead category of NULL keeps the stored one); a row only
-- when something was written.
UPDATE deliveries AS d
SET key = coalesce(%(key)s, d.key), name = %(name)s, type = %(type)s, enabled = %(enabled)s,
    lead_type_id = %(lead_type_id)s, settings = %(settings)s,
    lead_category_id = CASE WHEN %(lead_category_id)s::bigint IS NULL THEN d.lead_category_id
                            ELSE nullif(%(lead_category_id)s::bigint, 0) END,
    updated_at = now()
WHERE d.account_id = %(account_id)s AND d.id = %(id)s
  AND (d.key, d.name, d.type, d.enabled, d.lead_type_id, d.settings, d.lead_category_id)
      IS DISTINCT FROM
      (coalesce(%(key)s, d.key), %(name)s, %(type)s::smallint, %(enabled)s::boolean,
       %(lead_type_id)s::bigint, %(settings)s::jsonb,
       CASE WHEN %(lead_category_id)s::bigint IS NULL THEN d.lead_category_id
            ELSE nullif(%(lead_category_id)s::bigint, 0) END)
RETURNING id;

-- name: accounts_of_delivery
-- The delivery accounts that deliver through one delivery method, with their criteria.
SELECT id, criteria FROM delivery_accounts
WHERE account_id = %(account_id)s AND delivery_id = %(delivery_id)s
ORDER BY id;

-- name: delivery_account_by_id
-- One delivery account of the account's buyers, as list_delivery_accounts reads it.
SELECT id, client_id, delivery_id, key, description, price, hour_max, day_max, month_max,
       use_order, status, delivery_delay_seconds, redirect_url, automation_enabled,
       account_type, agent_name, agent_phone, criteria,
       coalesce((SELECT jsonb_object_agg(lower(f.name), f.id)
                 FROM deliveries d
                 JOIN lead_fields f ON f.account_id = d.account_id AND f.lead_type_id = d.lead_type_id
                 WHERE d.account_id = a.account_id AND d.id = a.delivery_id), '{}') AS field_ids,
       (SELECT to_jsonb(o) || jsonb_build_object('amount', o.amount::text)
        FROM delivery_account_offers o
        WHERE o.account_id = a.account_id AND o.delivery_account_id = a.id) AS offer
FROM delivery_accounts a
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: delivery_account_for_update
-- One delivery account's buyer, locked for an edit.
SELECT id, client_id FROM delivery_accounts
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: insert_delivery_account
-- Create a delivery account for a buyer.
INSERT INTO delivery_accounts (account_id, client_id, delivery_id, key, description, price,
                               hour_max, day_max, month_max, use_order, status,
                               delivery_delay_seconds, redirect_url, automation_enabled,
                               account_type, agent_name, agent_phone, criteria)
VALUES (%(account_id)s, %(client_id)s, %(delivery_id)s, %(key)s, %(description)s, %(price)s,
        %(hour_max)s, %(day_max)s, %(month_max)s, %(use_order)s, %(status)s,
        %(delivery_delay_seconds)s, %(redirect_url)s, %(automation_enabled)s, %(account_type)s,
        %(agent_name)s, %(agent_phone)s, numbered_criteria(%(criteria)s))
RETURNING id;

-- name: update_delivery_account
-- Change a delivery account by id; a row only when something was written (a new criterion,
-- id 0 until numbered_criteria numbers it, always differs from the stored ones).
UPDATE delivery_accounts AS a
SET key = coalesce(%(key)s, a.key), delivery_id = %(delivery_id)s,
    description = %(description)s, price = %(price)s, hour_max = %(hour_max)s,
    day_max = %(day_max)s, month_max = %(month_max)s, use_order = %(use_order)s,
    status = %(status)s, delivery_delay_seconds = %(delivery_delay_seconds)s,
    redirect_url = %(redirect_url)s, automation_enabled = %(automation_enabled)s,
    account_type = %(account_type)s, agent_name = %(agent_name)s,
    agent_phone = %(agent_phone)s, criteria = numbered_criteria(%(criteria)s),
    updated_at = now()
WHERE a.account_id = %(account_id)s AND a.id = %(id)s
  AND (a.key, a.delivery_id, a.description, a.price, a.hour_max, a.day_max, a.month_max,
       a.use_order, a.status, a.delivery_delay_seconds, a.redirect_url, a.automation_enabled,
       a.account_type, a.agent_name, a.agent_phone, a.criteria)
      IS DISTINCT FROM
      (coalesce(%(key)s, a.key), %(delivery_id)s::bigint, %(description)s,
       %(price)s::numeric, %(hour_max)s::integer, %(day_max)s::integer,
       %(month_max)s::integer, %(use_order)s::boolean, %(status)s::smallint,
       %(delivery_delay_seconds)s::integer, %(redirect_url)s,
       %(automation_enabled)s::boolean, %(account_type)s::smallint, %(agent_name)s,
       %(agent_phone)s, %(criteria)s::jsonb)
RETURNING id;

-- name: delivery_accounts_of_client
-- Which of these ids are delivery accounts of one buyer.
SELECT id FROM delivery_accounts
WHERE account_id = %(account_id)s AND client_id = %(client_id)s
  AND id = ANY(%(ids)s::bigint[]);

-- name: lock_delivery_account_for_send
-- One delivery account, locked while a send to it is decided: caps hold across processes.
SELECT id FROM delivery_accounts
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: client_states
-- Rotation position and leads served in the last 24 hours, per buyer.
SELECT c.id, c.rr_position,
       (SELECT count(*) FROM sends s
        WHERE s.account_id = c.account_id AND s.client_id = c.id AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}, {{SendStatus.SOLD}})
          AND s.created_at >= now() - interval '24 hours') AS served
FROM clients c
WHERE c.account_id = %(account_id)s AND c.id = ANY(%(ids)s);

-- name: advance_rotation
-- The buyer was offered a lead through the rotation: it goes to the back of the line.
UPDATE clients SET rr_position = nextval('rotation_numbers')
WHERE account_id = %(account_id)s AND id = %(id)s;

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

-- name: client_contacts
-- Buyers' names, contact details and notes.
SELECT id, name, contact, notes FROM clients
WHERE account_id = %(account_id)s AND id = ANY(%(ids)s::bigint[]);

-- name: lead_type_accounts
-- The delivery accounts whose delivery method serves a lead type, with their criteria.
SELECT a.id, a.client_id, a.delivery_id, a.key, a.description, a.price, a.hour_max,
       a.day_max, a.month_max, a.use_order, a.status, a.delivery_delay_seconds,
       a.redirect_url, a.automation_enabled, a.account_type, a.agent_name, a.agent_phone,
       a.criteria,
       coalesce((SELECT jsonb_object_agg(lower(f.name), f.id)
                 FROM deliveries d
                 JOIN lead_fields f ON f.account_id = d.account_id AND f.lead_type_id = d.lead_type_id
                 WHERE d.account_id = a.account_id AND d.id = a.delivery_id), '{}') AS field_ids
FROM delivery_accounts a
JOIN deliveries d ON d.account_id = a.account_id AND d.id = a.delivery_id
WHERE a.account_id = %(account_id)s AND d.lead_type_id = %(lead_type_id)s
ORDER BY a.id;
