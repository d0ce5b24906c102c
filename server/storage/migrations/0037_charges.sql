-- The ledger's gaps closed (docs/billing.md, "Auto-charge" and "A declined auto-charge"):
-- every statement that takes a buyer's balance below its auto-charge threshold queues the
-- top-up (one rule, a trigger on the balance row, rather than a copy per statement); a
-- declined auto-charge is retried under a new key and holds the buyer until its balance is
-- back at the threshold.

-- held: the buyer's last auto-charge was declined while its balance is below the threshold;
-- the engine passes it over (buyer snapshot) until the balance is back at the threshold.
ALTER TABLE client_billing ADD COLUMN held boolean NOT NULL DEFAULT false;

-- retry: 0 for a first charge, n for the n-th retry of a declined auto-charge (retry_of: the
-- declined charge it retries). cancelled: a queued retry no longer needed (the balance is back).
ALTER TABLE card_charges ADD COLUMN retry smallint NOT NULL DEFAULT 0;
ALTER TABLE card_charges ADD COLUMN retry_of bigint;
ALTER TABLE card_charges DROP CONSTRAINT card_charges_state_check;
ALTER TABLE card_charges ADD CONSTRAINT card_charges_state_check
    CHECK (state IN ('queued', 'pending', 'approved', 'declined', 'cancelled'));
CREATE INDEX card_charges_client ON card_charges (account_id, client_id, id);

-- The auto-charge rule, once for every statement that charges the ledger (a sale, a data
-- pull, a pack bought, an adjustment): a balance taken from at or above the threshold to
-- below it queues a charge of the top-up amount on the buyer's primary enabled card, unless
-- an auto-charge of the buyer is queued or pending. The balance row is locked by the update
-- that fires it, so two statements cannot both queue one. The WHEN clause is evaluated
-- without calling the function, so a balance change that crosses nothing costs nothing.
CREATE FUNCTION queue_auto_charge() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO card_charges (account_id, client_id, idempotency_key, amount, token, brand,
                            last_four, exp_month, exp_year, auto, state)
  SELECT NEW.account_id, NEW.client_id, 'auto-' || gen_random_uuid(), NEW.auto_charge_amount,
         c.token, c.brand, c.last_four, c.exp_month, c.exp_year, true, 'queued'
  FROM credit_cards c
  WHERE c.account_id = NEW.account_id AND c.client_id = NEW.client_id
    AND c.is_primary AND c.enabled
    AND NOT EXISTS (SELECT 1 FROM card_charges x
                    WHERE x.account_id = NEW.account_id AND x.client_id = NEW.client_id
                      AND x.auto AND x.state IN ('queued', 'pending'));
  RETURN NULL;
END
$$;

CREATE TRIGGER client_billing_auto_charge
    AFTER UPDATE OF balance ON client_billing
    FOR EACH ROW
    WHEN (NEW.auto_charge_below IS NOT NULL AND NEW.auto_charge_amount IS NOT NULL
          AND NEW.balance < NEW.auto_charge_below AND OLD.balance >= NEW.auto_charge_below)
    EXECUTE FUNCTION queue_auto_charge();

-- A held buyer whose balance is back at its threshold (a payment, an approved charge, an
-- adjustment, a return) or whose auto-charge is removed is released: its queued retries not
-- leased by a runner are cancelled, and the account's buyers' version is bumped so every
-- process's snapshot sees it.
CREATE FUNCTION release_auto_charge_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.held := false;
  UPDATE card_charges
  SET state = 'cancelled', response = 'not needed: the balance is back at its threshold',
      finished_at = now()
  WHERE account_id = NEW.account_id AND client_id = NEW.client_id AND auto AND retry > 0
    AND state = 'queued' AND (lease_until IS NULL OR lease_until < now());
  INSERT INTO buyer_versions (account_id) VALUES (NEW.account_id)
  ON CONFLICT (account_id) DO UPDATE SET version = buyer_versions.version + 1;
  RETURN NEW;
END
$$;

CREATE TRIGGER client_billing_release_hold
    BEFORE UPDATE ON client_billing
    FOR EACH ROW
    WHEN (OLD.held AND NEW.held
          AND (NEW.auto_charge_below IS NULL OR NEW.balance >= NEW.auto_charge_below))
    EXECUTE FUNCTION release_auto_charge_hold();

-- The engine's snapshot reads the held buyers with the prepaid ones.
DROP INDEX client_billing_prepaid;
CREATE INDEX client_billing_prepaid ON client_billing (account_id) WHERE prepaid OR held;
