-- An inbound ping priced by the auction (server/services/intake/ping.py): each buyer an order
-- reserves keeps the reference its ping answer gave, posted as {{ping_reference}} by the post
-- that uses the order. Empty for a buyer at a fixed price.
ALTER TABLE ping_reservations ADD COLUMN reference text NOT NULL DEFAULT '';
