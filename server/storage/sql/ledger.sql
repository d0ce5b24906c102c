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
-- A buyer's balance and billing settings (0 and the defaults when it has no ledger yet), and
-- the price of its sends under way; nothing when the account has no such buyer.
SELECT c.id AS client_id, coalesce(b.balance, 0) AS balance,
       coalesce(b.prepaid, false) AS prepaid, coalesce(b.stop_at_zero, true) AS stop_at_zero,
       b.auto_charge_below, b.auto_charge_amount,
       (SELECT coalesce(sum(round(s.price, 2)), 0) FROM sends s
        WHERE s.account_id = c.account_id AND s.client_id = c.id
          AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}})) AS reserved
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

-- name: prepaid_clients
-- The account's prepaid buyers.
SELECT client_id FROM client_billing WHERE account_id = %(account_id)s AND prepaid;

-- name: prepaid_available
-- Prepaid buyers' balances less the price of their sends under way, read without a lock (the
-- scan's view; a send is checked again under the lock).
SELECT b.client_id, b.stop_at_zero,
       b.balance - (SELECT coalesce(sum(round(s.price, 2)), 0) FROM sends s
                    WHERE s.account_id = b.account_id AND s.client_id = b.client_id
                      AND s.status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}}))
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
-- The price of a buyer's sends under way (scheduled or in flight), charged when they sell.
SELECT coalesce(sum(round(price, 2)), 0) AS reserved FROM sends
WHERE account_id = %(account_id)s AND client_id = %(client_id)s
  AND status IN ({{SendStatus.SCHEDULED}}, {{SendStatus.IN_FLIGHT}});
