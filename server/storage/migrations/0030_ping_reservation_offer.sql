-- A reserved buyer's dynamic offer (issue #16, item 4): the offer its ping answer carried,
-- read by the auction, kept with its reservation when the campaign returns client offers.
-- The V2 ping answers it in place of the delivery account's static offer, under an id of its
-- own (`offer_id`) drawn from the static offers' ids, so that no id names two offers; the
-- post naming the order offers it, and its consent evidence copies its consent text.
ALTER TABLE ping_reservations ADD COLUMN offer jsonb;
ALTER TABLE ping_reservations ADD COLUMN offer_id bigint;
