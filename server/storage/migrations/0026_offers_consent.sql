-- Offers and 1-to-1 consent (issue #16, items 3 and 4): a delivery account's static offer, a
-- campaign's "return client offers" setting, a lead's V2 properties (tags, the delivery
-- accounts its consumer consented to), and the consent evidence, append-only.

-- "Return client offers" (LeadExec's compliance tab): a post to the campaign is answered with
-- the offers of the buyers the lead is eligible for, and only the buyers whose offer the
-- consumer chose with consent receive it.
ALTER TABLE campaigns ADD COLUMN return_client_offers boolean NOT NULL DEFAULT false;

-- A delivery account's static offer (LeadExec's offer tab), at most one. `id` is the offer's
-- stable id, the one a source sends back: it is kept while the account has an offer.
CREATE TABLE delivery_account_offers (
    account_id           bigint NOT NULL,
    delivery_account_id  bigint NOT NULL,
    id                   bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    company_name         text NOT NULL DEFAULT '',
    company_phone        text NOT NULL DEFAULT '',
    name                 text NOT NULL DEFAULT '',
    description          text NOT NULL DEFAULT '',
    url                  text NOT NULL DEFAULT '',
    image_url            text NOT NULL DEFAULT '',
    privacy_url          text NOT NULL DEFAULT '',
    terms_url            text NOT NULL DEFAULT '',
    duration             text NOT NULL DEFAULT '',
    amount               numeric(14, 4) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    tcpa_consent_text    text NOT NULL DEFAULT '',
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, delivery_account_id),
    FOREIGN KEY (account_id, delivery_account_id) REFERENCES delivery_accounts ON DELETE CASCADE
);

-- A lead's V2 properties: its tags, and for a lead of a campaign returning client offers,
-- the delivery accounts whose offer its consumer chose with consent (NULL: not a 1-to-1
-- lead, every eligible buyer may receive it).
ALTER TABLE leads ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE leads ADD COLUMN consented_accounts bigint[];

-- Consent evidence, per lead and buyer (delivery account): append-only. The statements of
-- sql/consent.sql only insert and select; the trigger below refuses any UPDATE or DELETE.
-- `consent_text` is the offer's TCPA consent text when the lead was posted, copied, so a
-- later edit of the offer does not change what the consumer was shown.
CREATE TABLE consent_evidence (
    account_id           bigint NOT NULL,
    id                   bigint GENERATED ALWAYS AS IDENTITY,
    lead_id              bigint NOT NULL,
    delivery_account_id  bigint NOT NULL,
    client_id            bigint NOT NULL,
    offer_id             bigint NOT NULL,
    consent              boolean NOT NULL,
    consent_text         text NOT NULL,
    consented_at         timestamptz NOT NULL,
    ip_address           text NOT NULL DEFAULT '',
    user_agent           text NOT NULL DEFAULT '',
    page_url             text NOT NULL DEFAULT '',
    trusted_form_cert    text NOT NULL DEFAULT '',
    jornaya_lead_id      text NOT NULL DEFAULT '',
    recorded_at          timestamptz NOT NULL DEFAULT now(),
    -- keyed by lead, so a lead's records are read through the key (and no second index
    -- led by account_id can be taken for a lookup by key: 0012_key_lookups.sql)
    PRIMARY KEY (account_id, lead_id, id),
    FOREIGN KEY (account_id, lead_id) REFERENCES leads
);

CREATE FUNCTION consent_evidence_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent evidence is append-only';
END;
$$;
CREATE TRIGGER consent_evidence_append_only BEFORE UPDATE OR DELETE ON consent_evidence
    FOR EACH ROW EXECUTE FUNCTION consent_evidence_append_only();
