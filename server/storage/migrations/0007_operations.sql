-- Manual operations on sends (docs/operations.md): manual and logged sends, resends,
-- confirmed sales with their settlement for the source, and redirect notifications.

ALTER TABLE sends
    -- ProcessClientDelivery's notes
    ADD COLUMN notes text NOT NULL DEFAULT '',
    -- ResendLead: the send this one delivers again
    ADD COLUMN resend_of bigint,
    ADD FOREIGN KEY (account_id, resend_of) REFERENCES sends,
    -- ConfirmSale: when the buyer confirmed the sale, and what that added to the price the
    -- account owes the lead's source (per-sale amount or revenue share; 0 for per-lead)
    ADD COLUMN confirmed_at timestamptz,
    ADD COLUMN source_share numeric(14, 4) NOT NULL DEFAULT 0 CHECK (source_share >= 0),
    ADD CONSTRAINT sends_confirmation_of_a_sale CHECK (confirmed_at IS NULL OR status = 3),
    -- RedirectStatusNotify: whether the consumer reached the redirect URL, with notes
    ADD COLUMN redirect_notified_at timestamptz,
    ADD COLUMN redirect_valid boolean NOT NULL DEFAULT false,
    ADD COLUMN redirect_response text NOT NULL DEFAULT '';
