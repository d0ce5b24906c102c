-- name: insert_card
-- Keep a buyer's card: the gateway's token and what may be shown. A primary card makes the
-- buyer's other cards not primary first. Nothing when the account has no such buyer.
WITH client AS (
  SELECT account_id, id FROM clients WHERE account_id = %(account_id)s AND id = %(client_id)s
), demoted AS (
  UPDATE credit_cards k SET is_primary = false
  FROM client c
  WHERE %(is_primary)s AND k.account_id = c.account_id AND k.client_id = c.id AND k.is_primary
  RETURNING k.id
)
INSERT INTO credit_cards (account_id, client_id, token, brand, last_four, exp_month, exp_year,
                          company, first_name, last_name, name_on_card, bill_address, bill_city,
                          bill_state, bill_zip, enabled, is_primary)
SELECT c.account_id, c.id, %(token)s, %(brand)s, %(last_four)s, %(exp_month)s, %(exp_year)s,
       %(company)s, %(first_name)s, %(last_name)s, %(name_on_card)s, %(bill_address)s,
       %(bill_city)s, %(bill_state)s, %(bill_zip)s, %(enabled)s, %(is_primary)s
FROM client c
WHERE (SELECT count(*) FROM demoted) >= 0  -- demote first: one primary card per buyer
RETURNING id, client_id, token, brand, last_four, exp_month, exp_year, company, first_name,
          last_name, name_on_card, bill_address, bill_city, bill_state, bill_zip, enabled,
          is_primary, created_at;

-- name: list_cards
-- A buyer's cards on file, the primary first.
SELECT id, client_id, token, brand, last_four, exp_month, exp_year, company, first_name,
       last_name, name_on_card, bill_address, bill_city, bill_state, bill_zip, enabled,
       is_primary, created_at
FROM credit_cards
WHERE account_id = %(account_id)s AND client_id = %(client_id)s
ORDER BY is_primary DESC, id;

-- name: start_card_charge
-- A charge under its idempotency key: written pending when the key is new; the key's
-- charge, locked, either way (`created` says which).
WITH added AS (
  INSERT INTO card_charges (account_id, client_id, idempotency_key, amount, token, brand,
                            last_four, exp_month, exp_year)
  SELECT c.account_id, c.id, %(key)s, %(amount)s, %(token)s, %(brand)s, %(last_four)s,
         %(exp_month)s, %(exp_year)s
  FROM clients c WHERE c.account_id = %(account_id)s AND c.id = %(client_id)s
  ON CONFLICT (account_id, idempotency_key) DO NOTHING
  RETURNING id
)
SELECT true AS created, id FROM added
UNION ALL
SELECT false, id FROM card_charges
WHERE account_id = %(account_id)s AND idempotency_key = %(key)s
  AND NOT EXISTS (SELECT 1 FROM added);

-- name: lock_card_charge
-- A charge with the token it charges, locked for the rest of the transaction.
SELECT id, client_id, idempotency_key, amount, token, brand, last_four, exp_month, exp_year,
       auto, state, response, attempts, created_at, retry, retry_of, next_attempt_at
FROM card_charges
WHERE account_id = %(account_id)s AND id = %(id)s
FOR UPDATE;

-- name: get_card_charge
-- A charge by id.
SELECT id, client_id, idempotency_key, amount, token, brand, last_four, exp_month, exp_year,
       auto, state, response, attempts, created_at, retry, retry_of, next_attempt_at
FROM card_charges
WHERE account_id = %(account_id)s AND id = %(id)s;

-- name: finish_card_charge
-- The gateway's answer to a charge under way: approved or declined for good, or still pending
-- (asked again next time); nothing for a charge already final.
UPDATE card_charges
SET state = %(state)s, response = %(response)s, reference = %(reference)s,
    attempts = attempts + 1, lease_until = NULL,
    finished_at = CASE WHEN %(state)s IN ('approved', 'declined') THEN now() END
WHERE account_id = %(account_id)s AND id = %(id)s AND state IN ('queued', 'pending')
RETURNING id, client_id, idempotency_key, amount, token, brand, last_four, exp_month, exp_year,
          auto, state, response, attempts, created_at, retry, retry_of, next_attempt_at;

-- name: claim_auto_charges
-- Lease due auto-charges: queued ones, and pending ones whose answer a timeout left unknown.
UPDATE card_charges k SET lease_until = now() + make_interval(secs => %(lease)s),
                          next_attempt_at = now() + make_interval(secs => %(lease)s)
FROM (
  SELECT account_id, id FROM card_charges
  WHERE state = 'queued' AND next_attempt_at <= now()
  ORDER BY next_attempt_at
  LIMIT %(limit)s
  FOR UPDATE SKIP LOCKED
) due
WHERE k.account_id = due.account_id AND k.id = due.id
RETURNING k.account_id, k.id;

-- name: retry_auto_charge
-- An auto-charge the gateway left pending: asked again with its key after `delay` seconds.
UPDATE card_charges SET state = 'queued', lease_until = NULL,
                        next_attempt_at = now() + make_interval(secs => %(delay)s)
WHERE account_id = %(account_id)s AND id = %(id)s AND state = 'pending' AND auto;

-- name: list_card_charges
-- A buyer's card charges, newest first, one page before a charge id (0: from the newest).
SELECT id, client_id, idempotency_key, amount, token, brand, last_four, exp_month, exp_year,
       auto, state, response, attempts, created_at, retry, retry_of, next_attempt_at
FROM card_charges
WHERE account_id = %(account_id)s AND client_id = %(client_id)s
  AND (%(before_id)s = 0 OR id < %(before_id)s)
ORDER BY id DESC
LIMIT %(limit)s;
