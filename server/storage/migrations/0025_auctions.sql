-- Outbound ping-post (docs/ping_post.md): a campaign's auction settings, and the buyer's ping
-- reference a send carries to its post.

-- A campaign's auction among buyers whose delivery methods ping before they post. No row:
-- the defaults (a 1 s deadline, no margin, no floor, standby bids fresh for 60 s). A table of
-- its own rather than columns of campaigns: only the engine's auction step reads it.
CREATE TABLE campaign_auctions (
    account_id      bigint NOT NULL,
    campaign_id     bigint NOT NULL,
    deadline_ms     integer NOT NULL DEFAULT 1000 CHECK (deadline_ms BETWEEN 1 AND 30000),
    margin_percent  numeric(7, 4) NOT NULL DEFAULT 0
                    CHECK (margin_percent >= 0 AND margin_percent < 100),
    min_margin      numeric(14, 4) NOT NULL DEFAULT 0 CHECK (min_margin >= 0),
    floor           numeric(14, 4) NOT NULL DEFAULT 0 CHECK (floor >= 0),
    fresh_seconds   integer NOT NULL DEFAULT 60 CHECK (fresh_seconds BETWEEN 1 AND 86400),
    PRIMARY KEY (account_id, campaign_id),
    FOREIGN KEY (account_id, campaign_id) REFERENCES campaigns ON DELETE CASCADE
);

-- The reference a buyer's ping answer gave, mapped into its post as `ping_reference`.
ALTER TABLE sends ADD COLUMN ping_reference text NOT NULL DEFAULT '';
