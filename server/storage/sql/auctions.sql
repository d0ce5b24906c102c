-- name: save_campaign_auction
-- Store a campaign's auction settings (config as code), replacing the stored ones.
INSERT INTO campaign_auctions (account_id, campaign_id, deadline_ms, margin_percent, min_margin,
                               floor, fresh_seconds)
VALUES (%(account_id)s, %(campaign_id)s, %(deadline_ms)s, %(margin_percent)s, %(min_margin)s,
        %(floor)s, %(fresh_seconds)s)
ON CONFLICT (account_id, campaign_id) DO UPDATE
SET deadline_ms = excluded.deadline_ms, margin_percent = excluded.margin_percent,
    min_margin = excluded.min_margin, floor = excluded.floor,
    fresh_seconds = excluded.fresh_seconds;

-- name: campaign_auctions
-- The auction settings of the given campaigns that have any stored.
SELECT campaign_id, deadline_ms, margin_percent, min_margin, floor, fresh_seconds
FROM campaign_auctions
WHERE account_id = %(account_id)s AND campaign_id = ANY(%(campaign_ids)s);

-- name: lead_auction
-- The auction settings of a lead's campaign (no row: the defaults).
SELECT a.deadline_ms, a.margin_percent, a.min_margin, a.floor, a.fresh_seconds
FROM leads l
JOIN campaign_auctions a ON a.account_id = l.account_id AND a.campaign_id = l.campaign_id
WHERE l.account_id = %(account_id)s AND l.id = %(lead_id)s;

-- name: campaign_auction
-- A campaign's auction settings, or NULLs when it has none stored; no row: no such campaign.
SELECT a.deadline_ms, a.margin_percent, a.min_margin, a.floor, a.fresh_seconds
FROM campaigns c
LEFT JOIN campaign_auctions a ON a.account_id = c.account_id AND a.campaign_id = c.id
WHERE c.account_id = %(account_id)s AND c.id = %(campaign_id)s;
