-- Client groups as entities (LeadExec's ClientGroupUID, with a display order). A buyer keeps
-- its group by name (clients.client_group, as config as code names it); a trigger makes sure
-- every name in use has its group, and renaming a group renames it on its buyers
-- (server/services/buyers/groups.py).
CREATE TABLE client_groups (
    account_id     bigint NOT NULL REFERENCES accounts,
    id             bigint GENERATED ALWAYS AS IDENTITY,
    description    text NOT NULL CHECK (description <> ''),
    display_order  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX client_groups_description ON client_groups (account_id, lower(description));

INSERT INTO client_groups (account_id, description)
SELECT DISTINCT ON (account_id, lower(client_group)) account_id, client_group
FROM clients WHERE client_group <> ''
ORDER BY account_id, lower(client_group), client_group;

CREATE FUNCTION client_group_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.client_group <> '' THEN
        INSERT INTO client_groups (account_id, description)
        VALUES (NEW.account_id, NEW.client_group)
        ON CONFLICT (account_id, lower(description)) DO NOTHING;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER client_group_exists AFTER INSERT OR UPDATE OF client_group ON clients
    FOR EACH ROW EXECUTE FUNCTION client_group_exists();
