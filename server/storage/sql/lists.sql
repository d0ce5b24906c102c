-- Distribution lists with their items (server/storage/lists.py). Saved by key (config as
-- code), a row comes back only when something was written.

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

-- name: lists_for_lead_type
-- A lead type's active distribution lists with their items, for the engine's cache.
SELECT l.id, coalesce(nullif(l.description, ''), l.key, 'list ' || l.id) AS name,
       l.field_name, l.default_client_id, l.depend_field, l.depend_value,
       coalesce((SELECT jsonb_object_agg(i.value, i.client_id)
                 FROM distribution_list_items i
                 WHERE i.account_id = l.account_id AND i.list_id = l.id), '{}') AS assigned
FROM distribution_lists l
WHERE l.account_id = %(account_id)s AND l.lead_type_id = %(lead_type_id)s AND l.status = {{Status.Active}}
ORDER BY l.id;

-- name: list_distribution_lists
-- The account's distribution lists with their items, the ids of the fields they name and the
-- names of their buyers.
SELECT l.id, l.key, l.lead_type_id, l.description, l.field_name, l.default_client_id,
       l.status, l.depend_field, l.depend_value,
       (SELECT f.id FROM lead_fields f
        WHERE f.account_id = l.account_id AND f.lead_type_id = l.lead_type_id
          AND lower(f.name) = lower(l.field_name)) AS field_id,
       (SELECT f.id FROM lead_fields f
        WHERE f.account_id = l.account_id AND f.lead_type_id = l.lead_type_id
          AND l.depend_field <> '' AND lower(f.name) = lower(l.depend_field)) AS depend_field_id,
       (SELECT c.name FROM clients c
        WHERE c.account_id = l.account_id AND c.id = l.default_client_id) AS default_client_name,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', i.id, 'value', i.shown,
                                                     'client_id', i.client_id,
                                                     'client_name', c.name)
                                  ORDER BY i.value)
                 FROM distribution_list_items i
                 LEFT JOIN clients c ON c.account_id = i.account_id AND c.id = i.client_id
                 WHERE i.account_id = l.account_id AND i.list_id = l.id), '[]') AS items
FROM distribution_lists l
WHERE l.account_id = %(account_id)s
ORDER BY l.id;

-- Saved by id (server/services/buyers/edits.py): a key given as NULL keeps the stored key; each
-- update writes only when something changed and then returns the id.

-- name: list_for_update
-- One distribution list, locked for an edit.
SELECT id, lead_type_id, field_name FROM distribution_lists
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: insert_list
-- Create a distribution list.
INSERT INTO distribution_lists (account_id, key, lead_type_id, description, field_name,
                                default_client_id, status, depend_field, depend_value)
VALUES (%(account_id)s, %(key)s, %(lead_type_id)s, %(description)s, %(field_name)s,
        %(default_client_id)s, %(status)s, %(depend_field)s, %(depend_value)s)
RETURNING id;

-- name: update_list
-- Change a distribution list by id; a row only when something was written.
UPDATE distribution_lists AS l
SET key = coalesce(%(key)s, l.key), lead_type_id = %(lead_type_id)s,
    description = %(description)s, field_name = %(field_name)s,
    default_client_id = %(default_client_id)s, status = %(status)s,
    depend_field = %(depend_field)s, depend_value = %(depend_value)s, updated_at = now()
WHERE l.account_id = %(account_id)s AND l.id = %(id)s
  AND (l.key, l.lead_type_id, l.description, l.field_name, l.default_client_id, l.status,
       l.depend_field, l.depend_value)
      IS DISTINCT FROM
      (coalesce(%(key)s, l.key), %(lead_type_id)s::bigint, %(description)s, %(field_name)s,
       %(default_client_id)s::bigint, %(status)s::smallint, %(depend_field)s,
       %(depend_value)s)
RETURNING id;

-- name: assign_list_item
-- Add one value to a distribution list or change its buyer (NULL = unassigned); a row only
-- when something was written.
INSERT INTO distribution_list_items AS i (account_id, list_id, value, shown, client_id)
VALUES (%(account_id)s, %(list_id)s, %(value)s, %(shown)s, %(client_id)s)
ON CONFLICT (account_id, list_id, value) DO UPDATE
SET client_id = EXCLUDED.client_id
WHERE i.client_id IS DISTINCT FROM EXCLUDED.client_id
RETURNING list_id;

-- name: clear_list_item
-- Unassign one value of a distribution list; a row only when it was assigned.
UPDATE distribution_list_items
SET client_id = NULL
WHERE account_id = %(account_id)s AND list_id = %(list_id)s AND value = %(value)s
  AND client_id IS NOT NULL
RETURNING list_id;

-- name: list_item_by_id
-- One item of a distribution list, by its id.
SELECT id, shown AS value, client_id FROM distribution_list_items
WHERE account_id = %(account_id)s AND list_id = %(list_id)s AND id = %(id)s;

-- name: list_item_by_value
-- One item of a distribution list, by its value as compared.
SELECT id, shown AS value, client_id FROM distribution_list_items
WHERE account_id = %(account_id)s AND list_id = %(list_id)s AND value = %(value)s;

-- name: update_list_item
-- Change an item's value and buyer (NULL = unassigned); a row only when something changed.
UPDATE distribution_list_items AS i
SET value = %(value)s, shown = %(shown)s, client_id = %(client_id)s
WHERE i.account_id = %(account_id)s AND i.list_id = %(list_id)s AND i.id = %(id)s
  AND (i.shown, i.client_id) IS DISTINCT FROM (%(shown)s, %(client_id)s::bigint)
RETURNING i.id;
