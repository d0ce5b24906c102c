-- The marketplace on the ledger: a lead pack bought is charged when it is bought (an entry of
-- kind 'pack'), and the leads that fill its order are not charged again; a data pull's leads
-- are charged as sales. docs/billing.md, "The marketplace on the ledger".
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('sale', 'return', 'payment', 'card', 'adjustment', 'pack'));
ALTER TABLE ledger_entries ADD COLUMN purchase_id bigint;
-- a sale's charge asks whether its order is a pack's
CREATE INDEX pack_purchases_order ON pack_purchases (account_id, order_id);
