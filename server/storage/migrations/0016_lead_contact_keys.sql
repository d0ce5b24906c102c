-- SearchForLead finds leads by email, address or primary phone through an index: each lead
-- keeps the normalised keys of its contact fields (server/domain/intake/contacts.py), written
-- with the lead, and a GIN index answers "has all these keys".
ALTER TABLE leads ADD COLUMN contact_keys text[] NOT NULL DEFAULT '{}';

UPDATE leads l SET contact_keys = keys.found
FROM (
    SELECT l2.account_id, l2.id, array_agg(k.key ORDER BY k.key) AS found
    FROM leads l2
    JOIN lead_fields f ON f.account_id = l2.account_id AND f.lead_type_id = l2.lead_type_id
    CROSS JOIN LATERAL (
        SELECT CASE f.special
            WHEN 'Email' THEN 'e:' || lower(btrim(l2.fields ->> f.name))
            WHEN 'Address' THEN
                'a:' || lower(btrim(regexp_replace(l2.fields ->> f.name, '\s+', ' ', 'g')))
            WHEN 'PrimaryPhone' THEN 'p:' || (
                SELECT CASE WHEN length(d) = 11 AND left(d, 1) = '1' THEN right(d, 10) ELSE d END
                FROM (SELECT regexp_replace(l2.fields ->> f.name, '[^0-9]', '', 'g') AS d) digits)
        END AS key
    ) k
    WHERE f.special IN ('Email', 'Address', 'PrimaryPhone')
      AND coalesce(btrim(l2.fields ->> f.name), '') <> ''
      AND k.key NOT IN ('e:', 'a:', 'p:')
    GROUP BY l2.account_id, l2.id
) keys
WHERE l.account_id = keys.account_id AND l.id = keys.id;

CREATE INDEX leads_contact_keys ON leads USING gin (contact_keys);
