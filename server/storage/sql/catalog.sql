-- name: insert_lead_type
-- Create a lead type.
INSERT INTO lead_types (account_id, key, name, description, industry_type)
VALUES (%(account_id)s, %(key)s, %(name)s, %(description)s, %(industry_type)s)
RETURNING id;

-- name: update_lead_type
-- Change a lead type; returns its id only when something differed.
UPDATE lead_types SET key = %(key)s, name = %(name)s, description = %(description)s,
       industry_type = %(industry_type)s, updated_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s
  AND (key, name, description, industry_type)
      IS DISTINCT FROM (%(key)s, %(name)s, %(description)s, %(industry_type)s)
RETURNING id;

-- name: list_lead_types
-- The account's lead types, or one of them when id is not NULL.
SELECT id, key, name, description, industry_type FROM lead_types
WHERE account_id = %(account_id)s AND (%(id)s::bigint IS NULL OR id = %(id)s)
ORDER BY id;

-- name: lead_type_ids_by_key
-- Ids of the account's lead types named by keys.
SELECT key, id FROM lead_types WHERE account_id = %(account_id)s AND key = ANY(%(keys)s);

-- name: list_fields
-- Fields of the account's lead types (all when lead_type_id is NULL), in position order.
SELECT id, lead_type_id, name, data_type, required, validation, invalid_chars, enumerations,
       format_string, special, description, duplicate_check, position, col_span, width, height,
       computed
FROM lead_fields
WHERE account_id = %(account_id)s
  AND (%(lead_type_id)s::bigint IS NULL OR lead_type_id = %(lead_type_id)s)
ORDER BY lead_type_id, position, id;

-- name: get_field
-- One field of the account.
SELECT id, lead_type_id, name, data_type, required, validation, invalid_chars, enumerations,
       format_string, special, description, duplicate_check, position, col_span, width, height,
       computed
FROM lead_fields WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: insert_field
-- Add a field to a lead type.
WITH added AS (
  INSERT INTO lead_fields (account_id, lead_type_id, name, data_type, required, validation,
                           invalid_chars, enumerations, format_string, special, description,
                           duplicate_check, position, col_span, width, height, computed)
  VALUES (%(account_id)s, %(lead_type_id)s, %(name)s, %(data_type)s, %(required)s,
          %(validation)s, %(invalid_chars)s, %(enumerations)s, %(format_string)s, %(special)s,
          %(description)s, %(duplicate_check)s, %(position)s, %(col_span)s, %(width)s,
          %(height)s, %(computed)s)
  RETURNING id
), bumped AS (
  -- the engine's cached buyers compile criteria against the fields: reload them
  INSERT INTO buyer_versions (account_id) SELECT %(account_id)s WHERE EXISTS (SELECT 1 FROM added)
  ON CONFLICT (account_id) DO UPDATE SET version = buyer_versions.version + 1
)
SELECT id FROM added;

-- name: update_field
-- Change a field; returns its id only when something differed.
WITH changed AS (
  UPDATE lead_fields SET name = %(name)s, data_type = %(data_type)s, required = %(required)s,
         validation = %(validation)s, invalid_chars = %(invalid_chars)s,
         enumerations = %(enumerations)s, format_string = %(format_string)s,
         special = %(special)s, description = %(description)s,
         duplicate_check = %(duplicate_check)s, position = %(position)s,
         col_span = %(col_span)s, width = %(width)s, height = %(height)s,
         computed = %(computed)s
  WHERE account_id = %(account_id)s AND id = %(id)s
    AND (name, data_type, required, validation, invalid_chars, enumerations, format_string,
         special, description, duplicate_check, position, col_span, width, height, computed)
        IS DISTINCT FROM (%(name)s, %(data_type)s, %(required)s, %(validation)s,
         %(invalid_chars)s, %(enumerations)s::text[], %(format_string)s, %(special)s,
         %(description)s, %(duplicate_check)s, %(position)s, %(col_span)s::integer,
         %(width)s::integer, %(height)s::integer, %(computed)s::text)
  RETURNING id
), bumped AS (
  -- the engine's cached buyers compile criteria against the fields: reload them
  INSERT INTO buyer_versions (account_id) SELECT %(account_id)s WHERE EXISTS (SELECT 1 FROM changed)
  ON CONFLICT (account_id) DO UPDATE SET version = buyer_versions.version + 1
)
SELECT id FROM changed;

-- name: delete_field
-- Remove a field; fails while a campaign rule uses it.
WITH gone AS (
  DELETE FROM lead_fields WHERE account_id = %(account_id)s AND id = %(id)s RETURNING id
), bumped AS (
  -- the engine's cached buyers compile criteria against the fields: reload them
  INSERT INTO buyer_versions (account_id) SELECT %(account_id)s WHERE EXISTS (SELECT 1 FROM gone)
  ON CONFLICT (account_id) DO UPDATE SET version = buyer_versions.version + 1
)
SELECT id FROM gone;

-- name: insert_source
-- Create a lead source.
INSERT INTO sources (account_id, key, name, email, address, address2, city, state, zip, phone,
                     fax, status, username, password_hash, default_return_days)
VALUES (%(account_id)s, %(key)s, %(name)s, %(email)s, %(address)s, %(address2)s, %(city)s,
        %(state)s, %(zip)s, %(phone)s, %(fax)s, %(status)s, %(username)s, %(password_hash)s,
        %(default_return_days)s)
RETURNING id;

-- name: update_source
-- Change a lead source; returns its id only when something differed.
UPDATE sources SET key = %(key)s, name = %(name)s, email = %(email)s, address = %(address)s,
       address2 = %(address2)s, city = %(city)s, state = %(state)s, zip = %(zip)s,
       phone = %(phone)s, fax = %(fax)s, status = %(status)s, username = %(username)s,
       password_hash = %(password_hash)s, default_return_days = %(default_return_days)s,
       updated_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s
  AND (key, name, email, address, address2, city, state, zip, phone, fax, status, username,
       password_hash, default_return_days)
      IS DISTINCT FROM (%(key)s, %(name)s, %(email)s, %(address)s, %(address2)s, %(city)s,
       %(state)s, %(zip)s, %(phone)s, %(fax)s, %(status)s::smallint, %(username)s,
       %(password_hash)s, %(default_return_days)s::integer)
RETURNING id;

-- name: list_sources
-- The account's lead sources, or one of them when id is not NULL, or those with these keys.
SELECT id, key, name, email, address, address2, city, state, zip, phone, fax, status,
       username, password_hash, default_return_days
FROM sources
WHERE account_id = %(account_id)s AND (%(id)s::bigint IS NULL OR id = %(id)s)
  AND (%(keys)s::text[] IS NULL OR key = ANY(%(keys)s))
ORDER BY id;

-- name: insert_campaign
-- Create a campaign of a lead source.
INSERT INTO campaigns (account_id, key, source_id, lead_type_id, name, channel, status,
                       password_hash, require_api_key, pricing_model, pricing_amount,
                       hour_max, day_max, month_max, count_returns, dup_day_max, max_sell,
                       use_qc_bin, return_days, email_verify, append_city_state_from_zip,
                       return_client_offers, ping_order_seconds, lead_category_id)
VALUES (%(account_id)s, %(key)s, %(source_id)s, %(lead_type_id)s, %(name)s, %(channel)s,
        %(status)s, %(password_hash)s, %(require_api_key)s, %(pricing_model)s,
        %(pricing_amount)s, %(hour_max)s, %(day_max)s, %(month_max)s, %(count_returns)s,
        %(dup_day_max)s, %(max_sell)s, %(use_qc_bin)s, %(return_days)s, %(email_verify)s,
        %(append_city_state_from_zip)s, %(return_client_offers)s, %(ping_order_seconds)s,
        nullif(%(lead_category_id)s::bigint, 0))
RETURNING id;

-- name: update_campaign
-- Change a campaign; returns its id only when something differed. A lead category of NULL
-- keeps the stored one (config as code does not name it), 0 clears it.
UPDATE campaigns SET key = %(key)s, source_id = %(source_id)s, lead_type_id = %(lead_type_id)s,
       name = %(name)s, channel = %(channel)s, status = %(status)s,
       password_hash = %(password_hash)s, require_api_key = %(require_api_key)s,
       pricing_model = %(pricing_model)s, pricing_amount = %(pricing_amount)s,
       hour_max = %(hour_max)s, day_max = %(day_max)s, month_max = %(month_max)s,
       count_returns = %(count_returns)s, dup_day_max = %(dup_day_max)s,
       max_sell = %(max_sell)s, use_qc_bin = %(use_qc_bin)s, return_days = %(return_days)s,
       email_verify = %(email_verify)s,
       append_city_state_from_zip = %(append_city_state_from_zip)s,
       return_client_offers = %(return_client_offers)s, ping_order_seconds = %(ping_order_seconds)s,
       lead_category_id = CASE WHEN %(lead_category_id)s::bigint IS NULL THEN lead_category_id
                               ELSE nullif(%(lead_category_id)s::bigint, 0) END,
       updated_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s
  AND (key, source_id, lead_type_id, name, channel, status, password_hash, require_api_key,
       pricing_model, pricing_amount, hour_max, day_max, month_max, count_returns,
       dup_day_max, max_sell, use_qc_bin, return_days, email_verify,
       append_city_state_from_zip, return_client_offers, ping_order_seconds, lead_category_id)
      IS DISTINCT FROM (%(key)s, %(source_id)s::bigint, %(lead_type_id)s::bigint, %(name)s,
       %(channel)s::smallint, %(status)s::smallint, %(password_hash)s, %(require_api_key)s,
       %(pricing_model)s, %(pricing_amount)s::numeric, %(hour_max)s::integer,
       %(day_max)s::integer, %(month_max)s::integer, %(count_returns)s,
       %(dup_day_max)s::integer, %(max_sell)s::integer, %(use_qc_bin)s,
       %(return_days)s::integer, %(email_verify)s, %(append_city_state_from_zip)s,
       %(return_client_offers)s, %(ping_order_seconds)s::integer,
       CASE WHEN %(lead_category_id)s::bigint IS NULL THEN lead_category_id
            ELSE nullif(%(lead_category_id)s::bigint, 0) END)
RETURNING id;

-- name: list_campaigns
-- The account's campaigns: one (id), one source's (source_id), by keys, or all.
SELECT id, key, source_id, lead_type_id, name, channel, status, password_hash,
       require_api_key, pricing_model, pricing_amount, hour_max, day_max, month_max,
       count_returns, dup_day_max, max_sell, use_qc_bin, return_days, email_verify,
       append_city_state_from_zip, return_client_offers, ping_order_seconds, lead_category_id
FROM campaigns
WHERE account_id = %(account_id)s AND (%(id)s::bigint IS NULL OR id = %(id)s)
  AND (%(source_id)s::bigint IS NULL OR source_id = %(source_id)s)
  AND (%(keys)s::text[] IS NULL OR key = ANY(%(keys)s))
ORDER BY id;

-- name: list_rules
-- Rules of the account's campaigns (of those listed), with their field names, in order.
SELECT r.campaign_id, r.position, f.name AS field, r.operator, r.value
FROM campaign_rules r
JOIN lead_fields f ON f.account_id = r.account_id AND f.id = r.lead_field_id
WHERE r.account_id = %(account_id)s AND r.campaign_id = ANY(%(campaign_ids)s)
ORDER BY r.campaign_id, r.position;

-- name: delete_rules
-- Remove every rule of a campaign before writing its new list.
DELETE FROM campaign_rules WHERE account_id = %(account_id)s AND campaign_id = %(campaign_id)s;

-- name: insert_rule
-- Add a rule; the field must belong to the campaign's lead type (checked by the service).
INSERT INTO campaign_rules (account_id, campaign_id, position, lead_field_id, operator, value)
VALUES (%(account_id)s, %(campaign_id)s, %(position)s, %(lead_field_id)s, %(operator)s,
        %(value)s);

-- name: post_target_version
-- The account and catalog version of a post's lead source, to check what the caller read
-- earlier still holds (a plan PostgreSQL keeps; find_post_target's is made again each time).
SELECT s.account_id, coalesce(v.version, 0) AS version
FROM sources s
LEFT JOIN catalog_versions v ON v.account_id = s.account_id
WHERE s.id = %(source_id)s AND s.account_id <> 0;

-- name: find_post_target
-- What a post's identifiers resolve to, in one statement, with the version of the catalog it
-- was read at: the lead source's account (and its time zone) and status, whether the lead type is the account's,
-- the source's active campaigns of the lead type (only when no campaign is named), the
-- campaign named (else the one active one) with its rules, and the lead type's fields.
WITH source AS (
  SELECT s.account_id, s.status, coalesce(v.version, 0) AS version, a.time_zone
  FROM sources s
  JOIN accounts a ON a.account_id = s.account_id
  LEFT JOIN catalog_versions v ON v.account_id = s.account_id
  WHERE s.id = %(source_id)s AND s.account_id <> 0
)
SELECT s.account_id, s.version, s.time_zone, s.status AS source_status, d.*
FROM source s
LEFT JOIN LATERAL (
  SELECT t.id IS NOT NULL AS lead_type_found, a.ids AS active_campaigns,
         c.id, c.key, c.source_id, c.lead_type_id, c.name, c.channel, c.status, c.password_hash,
         c.require_api_key, c.pricing_model, c.pricing_amount, c.hour_max, c.day_max,
         c.month_max, c.count_returns, c.dup_day_max, c.max_sell, c.use_qc_bin, c.return_days,
         c.email_verify, c.append_city_state_from_zip, c.return_client_offers,
         c.ping_order_seconds, c.lead_category_id, r.rules, f.fields
  FROM (SELECT) one
  LEFT JOIN lead_types t ON t.account_id = s.account_id AND t.id = %(lead_type_id)s::bigint
  LEFT JOIN LATERAL (
    SELECT array_agg(c.id ORDER BY c.id) AS ids FROM campaigns c
    WHERE %(campaign_id)s::bigint IS NULL AND c.account_id = t.account_id
      AND c.source_id = %(source_id)s AND c.lead_type_id = t.id AND c.status = {{Status.Active}}
  ) a ON true
  LEFT JOIN campaigns c ON c.account_id = s.account_id
    AND c.id = coalesce(%(campaign_id)s::bigint,
                        CASE WHEN cardinality(a.ids) = 1 THEN a.ids[1] END)
  LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_array(lf.name, cr.operator, cr.value) ORDER BY cr.position)
           AS rules
    FROM campaign_rules cr
    JOIN lead_fields lf ON lf.account_id = cr.account_id AND lf.id = cr.lead_field_id
    WHERE cr.account_id = c.account_id AND cr.campaign_id = c.id
  ) r ON true
  LEFT JOIN LATERAL (
    SELECT jsonb_agg(to_jsonb(lf) ORDER BY lf.position, lf.id) AS fields
    FROM lead_fields lf
    WHERE lf.account_id = t.account_id AND lf.lead_type_id = t.id
  ) f ON true
) d ON true;

-- name: get_lead_field_of_type
-- A lead type of the account and, when it has it, one of its fields (field_name NULL).
SELECT t.id, f.name AS field_name
FROM lead_types t
LEFT JOIN lead_fields f ON f.account_id = t.account_id AND f.lead_type_id = t.id
  AND f.id = %(field_id)s
WHERE t.account_id = %(account_id)s AND t.id = %(lead_type_id)s;
