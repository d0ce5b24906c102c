-- name: add_ledger_entry
-- Add an entry to a buyer's ledger: its balance row (created at 0 when it has none) is
-- changed by the amount under its lock, and the entry keeps the balance it left. Nothing when
-- the account has no such buyer.
WITH balanced AS (
  INSERT INTO client_billing AS b (account_id, client_id, balance)
  SELECT c.account_id, c.id, %(amount)s FROM clients c
  WHERE c.account_id = %(account_id)s AND c.id = %(client_id)s
  ON CONFLICT (account_id, client_id)
    DO UPDATE SET balance = b.balance + excluded.balance, updated_at = now()
  RETURNING b.account_id, b.client_id, b.balance
)
INSERT INTO ledger_entries (account_id, client_id, kind, amount, balance, payment_id, charge_id,
                            note)
SELECT account_id, client_id, %(kind)s, %(amount)s, balance, %(payment_id)s, %(charge_id)s,
       %(note)s
FROM balanced
RETURNING id, client_id, kind, amount, balance, send_id, lead_id, payment_id, charge_id, note,
          created_at;

-- name: insert_payment
-- Record a payment (a declined one too); nothing when the account has no such buyer.
INSERT INTO payments (account_id, client_id, order_id, card_transaction_id, amount, valid,
                      response)
SELECT c.account_id, c.id, %(order_id)s, %(card_transaction_id)s, %(amount)s, %(valid)s,
       %(response)s
FROM clients c WHERE c.account_id = %(account_id)s AND c.id = %(client_id)s
RETURNING id, created_at;

-- name: get_balance
-- A buyer's balance and billing settings (0 and the defaults when it has no ledger yet),
-- whether a declined auto-charge holds it, and the price of its sends under way (but those
-- filling a lead pack's order, paid for with the pack); nothing when the account has no such buyer.
SELECT c.id AS client_id, coalesce(b.balance, 0) AS balance,
       coalesce(b.prepaid, false) AS prepaid, coalesce(b.stop_at_zero, true) AS stop_at_zero,
       b.auto_charge_below, b.auto_charge_amount, coalesce(b.held, false) AS held,
       (SELECT coalesce(sum(round(s.price, 2)), 0) FROM sends s
        WHERE s.account_id = c.account_id AND s.client_id = c.id
          AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}})
          AND NOT EXISTS (SELECT 1 FROM pack_purchases p  -- paid for with its pack
                          WHERE p.account_id = s.account_id AND p.order_id = s.order_id)) AS reserved
FROM clients c
LEFT JOIN client_billing b ON b.account_id = c.account_id AND b.client_id = c.id
WHERE c.account_id = %(account_id)s AND c.id = %(client_id)s;

-- name: save_billing_settings
-- Set a buyer's billing settings, keeping its balance, and mark the account's buyers changed:
-- the engine's snapshot knows its prepaid buyers. Nothing when there is no such buyer.
WITH saved AS (
  INSERT INTO client_billing AS b (account_id, client_id, prepaid, stop_at_zero,
                                   auto_charge_below, auto_charge_amount)
  SELECT c.account_id, c.id, %(prepaid)s, %(stop_at_zero)s, %(auto_charge_below)s,
         %(auto_charge_amount)s
  FROM clients c WHERE c.account_id = %(account_id)s AND c.id = %(client_id)s
  ON CONFLICT (account_id, client_id) DO UPDATE
    SET prepaid = excluded.prepaid, stop_at_zero = excluded.stop_at_zero,
        auto_charge_below = excluded.auto_charge_below,
        auto_charge_amount = excluded.auto_charge_amount, updated_at = now()
  RETURNING b.account_id, b.client_id
), bumped AS (
  INSERT INTO buyer_versions (account_id) SELECT account_id FROM saved
  ON CONFLICT (account_id) DO UPDATE SET version = buyer_versions.version + 1
)
SELECT client_id FROM saved;

-- name: list_ledger_entries
-- A buyer's entries made in [from, to), oldest first, one page after an entry id.
SELECT id, client_id, kind, amount, balance, send_id, lead_id, payment_id, charge_id, note,
       created_at
FROM ledger_entries
WHERE account_id = %(account_id)s AND client_id = %(client_id)s
  AND created_at >= %(from)s AND created_at < %(to)s AND id > %(after_id)s
ORDER BY created_at, id
LIMIT %(limit)s;

-- name: billed_clients
-- The account's buyers the engine checks before a send: prepaid ones, and ones a declined
-- auto-charge holds.
SELECT client_id, prepaid, held FROM client_billing
WHERE account_id = %(account_id)s AND (prepaid OR held);

-- name: pack_orders
-- The orders lead packs were bought into, of the account's prepaid or held buyers: a send
-- filling one is paid for by its pack, so no balance check applies to it.
SELECT p.order_id FROM pack_purchases p
JOIN client_billing b ON b.account_id = p.account_id AND b.client_id = p.client_id
WHERE p.account_id = %(account_id)s AND (b.prepaid OR b.held);

-- name: hold_after_decline
-- A declined auto-charge: the buyer is held while its balance is below its threshold (the
-- account's buyers' version bumped when that changes), and, when `delay` is given and the
-- buyer has a primary enabled card, a retry is queued under a new key after `delay` seconds
-- (the retry's number one more than the declined charge's). Returns whether the buyer is
-- held and the retry's id (NULL: none).
WITH declined AS (
  SELECT account_id, client_id, id, retry FROM card_charges
  WHERE account_id = %(account_id)s AND id = %(id)s AND auto AND state = 'declined'
), billing AS (
  SELECT b.* FROM client_billing b JOIN declined d
    ON b.account_id = d.account_id AND b.client_id = d.client_id
  WHERE b.auto_charge_below IS NOT NULL AND b.auto_charge_amount IS NOT NULL
    AND b.balance < b.auto_charge_below
), held AS (
  UPDATE client_billing b SET held = true, updated_at = now()
  FROM billing x
  WHERE b.account_id = x.account_id AND b.client_id = x.client_id AND NOT b.held
  RETURNING b.account_id
), bumped AS (
  INSERT INTO buyer_versions (account_id) SELECT account_id FROM held
  ON CONFLICT (account_id) DO UPDATE SET version = buyer_versions.version + 1
), retried AS (
  INSERT INTO card_charges (account_id, client_id, idempotency_key, amount, token, brand,
                            last_four, exp_month, exp_year, auto, state, retry, retry_of,
                            next_attempt_at)
  SELECT d.account_id, d.client_id, 'auto-' || gen_random_uuid(), x.auto_charge_amount,
         c.token, c.brand, c.last_four, c.exp_month, c.exp_year, true, 'queued', d.retry + 1,
         d.id, now() + make_interval(secs => %(delay)s::float8)
  FROM declined d
  JOIN billing x ON x.account_id = d.account_id AND x.client_id = d.client_id
  JOIN credit_cards c ON c.account_id = d.account_id AND c.client_id = d.client_id
                     AND c.is_primary AND c.enabled
  WHERE %(delay)s::float8 IS NOT NULL
  RETURNING id
)
SELECT EXISTS (SELECT 1 FROM billing) AS held, (SELECT id FROM retried) AS retry_id;

-- name: release_after_approval
-- An approved auto-charge ends its buyer's hold, even when the top-up leaves the balance
-- below the threshold (the account's buyers' version bumped when it held the buyer).
WITH released AS (
  UPDATE client_billing SET held = false, updated_at = now()
  WHERE account_id = %(account_id)s AND client_id = %(client_id)s AND held
  RETURNING account_id
)
INSERT INTO buyer_versions (account_id) SELECT account_id FROM released
ON CONFLICT (account_id) DO UPDATE SET version = buyer_versions.version + 1;

-- name: prepaid_available
-- Prepaid buyers' balances less the price of their sends under way (but those filling a lead
-- pack's order), read without a lock (the scan's view; a send is checked again under the lock).
SELECT b.client_id, b.stop_at_zero,
       b.balance - (SELECT coalesce(sum(round(s.price, 2)), 0) FROM sends s
                    WHERE s.account_id = b.account_id AND s.client_id = b.client_id
                      AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}})
                      AND NOT EXISTS (SELECT 1 FROM pack_purchases p
                                      WHERE p.account_id = s.account_id
                                        AND p.order_id = s.order_id))
         AS available
FROM client_billing b
WHERE b.account_id = %(account_id)s AND b.client_id = ANY(%(client_ids)s::bigint[]) AND b.prepaid;

-- name: lock_prepaid
-- A prepaid buyer's balance row, locked while a send to it is decided (nothing when the buyer
-- is not prepaid). Its sends under way are read by the next statement, after the lock is
-- held, so they include what the previous holder committed.
SELECT balance, stop_at_zero FROM client_billing
WHERE account_id = %(account_id)s AND client_id = %(client_id)s AND prepaid
FOR UPDATE;

-- name: reserved_for_client
-- The price of a buyer's sends under way (scheduled or in flight), charged when they sell
-- (those filling a lead pack's order are not: the pack paid for them).
SELECT coalesce(sum(round(s.price, 2)), 0) AS reserved FROM sends s
WHERE s.account_id = %(account_id)s AND s.client_id = %(client_id)s
  AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}})
  AND NOT EXISTS (SELECT 1 FROM pack_purchases p
                  WHERE p.account_id = s.account_id AND p.order_id = s.order_id);
