-- The marketplace: lead categories, resellers, lead pack categories, lead packs, promo codes,
-- pack purchases (server/storage/marketplace.py).

-- name: insert_lead_category
-- Create a lead category.
INSERT INTO lead_categories (account_id, name) VALUES (%(account_id)s, %(name)s)
RETURNING id, name;

-- name: update_lead_category
-- Rename a lead category; no row when the account has none with this id.
UPDATE lead_categories SET name = %(name)s
WHERE account_id = %(account_id)s AND id = %(id)s
RETURNING id, name;

-- name: list_lead_categories
-- The account's lead categories, by id.
SELECT id, name FROM lead_categories WHERE account_id = %(account_id)s ORDER BY id;

-- name: insert_reseller
-- Create a reseller.
INSERT INTO resellers (account_id, name) VALUES (%(account_id)s, %(name)s)
RETURNING id, name;

-- name: update_reseller
-- Rename a reseller; no row when the account has none with this id.
UPDATE resellers SET name = %(name)s
WHERE account_id = %(account_id)s AND id = %(id)s
RETURNING id, name;

-- name: list_resellers
-- The account's resellers, by id.
SELECT id, name FROM resellers WHERE account_id = %(account_id)s ORDER BY id;

-- name: insert_pack_category
-- Create a lead pack category.
INSERT INTO lead_pack_categories (account_id, name) VALUES (%(account_id)s, %(name)s)
RETURNING id, name;

-- name: update_pack_category
-- Rename a lead pack category; no row when the account has none with this id.
UPDATE lead_pack_categories SET name = %(name)s
WHERE account_id = %(account_id)s AND id = %(id)s
RETURNING id, name;

-- name: list_pack_categories
-- The account's lead pack categories, by id.
SELECT id, name FROM lead_pack_categories WHERE account_id = %(account_id)s ORDER BY id;

-- name: insert_lead_pack
-- Create a lead pack; its new criteria are numbered (numbered_criteria, migration 0019).
INSERT INTO lead_packs (account_id, description, pack_type, lead_type_id, lead_category_id,
                        pack_category_id, reseller_id, quantity, price, expires_at, start_day,
                        end_day, order_min, order_max, include_over_max, criteria, status)
VALUES (%(account_id)s, %(description)s, %(pack_type)s, %(lead_type_id)s,
        %(lead_category_id)s, %(pack_category_id)s, %(reseller_id)s, %(quantity)s, %(price)s,
        %(expires_at)s, %(start_day)s, %(end_day)s, %(order_min)s, %(order_max)s,
        %(include_over_max)s, numbered_criteria(%(criteria)s::jsonb), %(status)s)
RETURNING id;

-- name: update_lead_pack
-- Replace a lead pack by id; no row when the account has none with this id.
UPDATE lead_packs
SET description = %(description)s, pack_type = %(pack_type)s, lead_type_id = %(lead_type_id)s,
    lead_category_id = %(lead_category_id)s, pack_category_id = %(pack_category_id)s,
    reseller_id = %(reseller_id)s, quantity = %(quantity)s, price = %(price)s,
    expires_at = %(expires_at)s, start_day = %(start_day)s, end_day = %(end_day)s,
    order_min = %(order_min)s, order_max = %(order_max)s,
    include_over_max = %(include_over_max)s, criteria = numbered_criteria(%(criteria)s::jsonb),
    status = %(status)s, updated_at = now()
WHERE account_id = %(account_id)s AND id = %(id)s
RETURNING id;

-- name: list_lead_packs
-- The account's lead packs with their lead type's name, by id, filtered (0: any).
SELECT p.id, p.description, p.pack_type, p.lead_type_id, t.name AS lead_type_name,
       p.lead_category_id, p.pack_category_id, p.reseller_id, p.quantity, p.price,
       p.expires_at, p.start_day, p.end_day, p.order_min, p.order_max, p.include_over_max,
       p.criteria, p.status
FROM lead_packs p
JOIN lead_types t ON t.account_id = p.account_id AND t.id = p.lead_type_id
WHERE p.account_id = %(account_id)s
  AND (%(id)s::bigint = 0 OR p.id = %(id)s::bigint)
  AND (%(pack_category_id)s::bigint = 0 OR p.pack_category_id = %(pack_category_id)s::bigint)
  AND (%(pack_type)s::smallint = 0 OR p.pack_type = %(pack_type)s::smallint)
  AND (%(reseller_id)s::bigint = 0 OR p.reseller_id = %(reseller_id)s::bigint)
ORDER BY p.id;

-- name: share_lead_pack
-- A lead pack, locked against changes while it is bought.
SELECT p.id, p.description, p.pack_type, p.lead_type_id, t.name AS lead_type_name,
       p.lead_category_id, p.pack_category_id, p.reseller_id, p.quantity, p.price,
       p.expires_at, p.start_day, p.end_day, p.order_min, p.order_max, p.include_over_max,
       p.criteria, p.status
FROM lead_packs p
JOIN lead_types t ON t.account_id = p.account_id AND t.id = p.lead_type_id
WHERE p.account_id = %(account_id)s AND p.id = %(id)s
FOR SHARE OF p;

-- name: insert_promo_code
-- Create a promo code.
INSERT INTO promo_codes (account_id, reseller_id, code, money_value, percent_value, expires_at,
                         use_limit, client_id)
VALUES (%(account_id)s, %(reseller_id)s, %(code)s, %(money_value)s, %(percent_value)s,
        %(expires_at)s, %(use_limit)s, %(client_id)s)
RETURNING id;

-- name: update_promo_code
-- Replace a promo code by id (its uses stay); no row when the account has none with this id.
UPDATE promo_codes
SET reseller_id = %(reseller_id)s, code = %(code)s, money_value = %(money_value)s,
    percent_value = %(percent_value)s, expires_at = %(expires_at)s, use_limit = %(use_limit)s,
    client_id = %(client_id)s
WHERE account_id = %(account_id)s AND id = %(id)s
RETURNING id;

-- name: set_promo_packs
-- The packs a promo code applies to, replacing the ones it had.
WITH gone AS (
  DELETE FROM promo_code_packs
  WHERE account_id = %(account_id)s AND promo_id = %(promo_id)s
)
INSERT INTO promo_code_packs (account_id, promo_id, pack_id)
SELECT %(account_id)s, %(promo_id)s, unnest(%(pack_ids)s::bigint[]);

-- name: list_promo_codes
-- The account's promo codes (of one reseller; 0: all) with their packs and uses, by id.
SELECT c.id, c.reseller_id, c.code, c.money_value, c.percent_value, c.expires_at, c.use_limit,
       c.client_id,
       coalesce((SELECT array_agg(p.pack_id ORDER BY p.pack_id) FROM promo_code_packs p
                 WHERE p.account_id = c.account_id AND p.promo_id = c.id), '{}') AS pack_ids,
       (SELECT count(*) FROM pack_purchases u
        WHERE u.account_id = c.account_id AND u.promo_id = c.id) AS uses
FROM promo_codes c
WHERE c.account_id = %(account_id)s
  AND (%(reseller_id)s::bigint = 0 OR c.reseller_id = %(reseller_id)s::bigint)
  AND (%(id)s::bigint = 0 OR c.id = %(id)s::bigint)
ORDER BY c.id;

-- name: lock_promo_code
-- A promo code by its code, with its packs, locked so that its uses are counted exactly
-- while it is used (count_promo_uses, a statement of its own: it sees the uses committed
-- before the lock was granted).
SELECT c.id, c.reseller_id, c.code, c.money_value, c.percent_value, c.expires_at, c.use_limit,
       c.client_id,
       coalesce((SELECT array_agg(p.pack_id ORDER BY p.pack_id) FROM promo_code_packs p
                 WHERE p.account_id = c.account_id AND p.promo_id = c.id), '{}') AS pack_ids,
       0 AS uses
FROM promo_codes c
WHERE c.account_id = %(account_id)s AND c.code = %(code)s
FOR UPDATE OF c;

-- name: count_promo_uses
-- The purchases made with a promo code.
SELECT count(*) AS uses FROM pack_purchases
WHERE account_id = %(account_id)s AND promo_id = %(promo_id)s;

-- name: insert_pack_purchase
-- Record a pack bought: its order, what it cost and the promo code used; and charge the
-- client's ledger its price (the leads that fill its order are not charged again:
-- finish_sends), under the client's balance row lock, with the balance it left.
WITH bought AS (
  INSERT INTO pack_purchases (account_id, pack_id, client_id, delivery_account_id, quantity,
                              list_price, discount, price, promo_id, order_id)
  VALUES (%(account_id)s, %(pack_id)s, %(client_id)s, %(delivery_account_id)s, %(quantity)s,
          %(list_price)s, %(discount)s, %(price)s, %(promo_id)s, %(order_id)s)
  RETURNING account_id, id, client_id, order_id, round(price, 2) AS amount
), balanced AS (
  INSERT INTO client_billing AS b (account_id, client_id, balance)
  SELECT account_id, client_id, -amount FROM bought
  ON CONFLICT (account_id, client_id)
    DO UPDATE SET balance = b.balance + excluded.balance, updated_at = now()
  RETURNING b.balance
), charged AS (
  INSERT INTO ledger_entries (account_id, client_id, kind, amount, balance, purchase_id, note)
  SELECT p.account_id, p.client_id, 'pack', -p.amount, b.balance, p.id,
         'lead pack purchase ' || p.id || ', order ' || p.order_id
  FROM bought p CROSS JOIN balanced b
)
SELECT id FROM bought;

-- name: pack_buyer_account
-- A delivery account a pack is bought for: its client, lead type and whether it takes leads
-- only against orders.
SELECT a.client_id, d.lead_type_id, a.use_order
FROM delivery_accounts a
JOIN deliveries d ON d.account_id = a.account_id AND d.id = a.delivery_id
WHERE a.account_id = %(account_id)s AND a.id = %(id)s;

-- name: insert_pack_order_filter
-- Copy a lead pack's criteria and lead category onto the order bought from it (the pack is
-- read under its share lock in the same transaction, so the copy is what the purchase saw).
INSERT INTO order_filters (account_id, order_id, lead_type_id, pack_id, lead_category_id,
                           criteria)
SELECT p.account_id, %(order_id)s, p.lead_type_id, p.id, p.lead_category_id, p.criteria
FROM lead_packs p
WHERE p.account_id = %(account_id)s AND p.id = %(pack_id)s;

-- name: order_filters
-- The filters of the orders bought from a lead type's packs that may still take a lead (the
-- engine compiles them into its buyer snapshot): a closed order, or one without renewal past
-- its end, takes none, and an edit that opens or extends one again bumps the buyer version,
-- which reloads them.
SELECT f.order_id, f.pack_id, coalesce(f.lead_category_id, 0) AS lead_category_id, f.criteria
FROM order_filters f
JOIN client_orders o ON o.account_id = f.account_id AND o.id = f.order_id
WHERE f.account_id = %(account_id)s AND f.lead_type_id = %(lead_type_id)s
  AND o.status <> {{OrderStatus.Closed}}
  AND NOT (o.renewal = {{Renewal.No_Renewal}} AND o.end_at <= now())
ORDER BY f.order_id;
