-- Site visits (issue #17, item 5): an account's tracking settings, the visits the receiver's
-- pixel and beacon record, and the visits a lead was posted with (docs/visits.md).

-- A tracking setting (LeadExec's TrackingUID): its id is public, sent by a site's pixel, and
-- names the account without a secret; unique across accounts so the pixel needs nothing else.
CREATE TABLE trackings (
    account_id  bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    id          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);

-- A visit: written by one INSERT ... ON CONFLICT per page view. The entering page, its
-- referrer and who made it are the first view's; the exit page, exit date and page views
-- move on with each view. Swept once its last view is older than the retention period.
CREATE TABLE visits (
    account_id     bigint NOT NULL,
    visit_id       text NOT NULL,
    tracking_id    bigint NOT NULL,
    enter_date     timestamptz NOT NULL,
    exit_date      timestamptz NOT NULL,
    user_agent     text NOT NULL DEFAULT '',
    ip             text NOT NULL DEFAULT '',
    url            text NOT NULL DEFAULT '',
    host           text NOT NULL DEFAULT '',
    enter_page     text NOT NULL DEFAULT '',
    exit_page      text NOT NULL DEFAULT '',
    referrer       text NOT NULL DEFAULT '',
    referrer_host  text NOT NULL DEFAULT '',
    search_engine  text NOT NULL DEFAULT '',
    search_term    text NOT NULL DEFAULT '',
    browser        text NOT NULL DEFAULT '',
    os             text NOT NULL DEFAULT '',
    device         text NOT NULL DEFAULT '',
    visitor_id     text NOT NULL DEFAULT '',
    page_views     integer NOT NULL DEFAULT 1,
    first_visit    boolean NOT NULL DEFAULT true,
    PRIMARY KEY (account_id, visit_id)
);
-- the retention sweep, oldest first
CREATE INDEX visits_exit_date ON visits (exit_date);
-- whether a visitor came before (FirstVisit)
CREATE INDEX visits_visitor ON visits (account_id, visitor_id) WHERE visitor_id <> '';

-- The visits a lead was posted with (its VisitID). A link does not need its visit to exist
-- yet (the beacon may come after the post); swept with the visits.
CREATE TABLE lead_visits (
    account_id  bigint NOT NULL,
    lead_id     bigint NOT NULL,
    visit_id    text NOT NULL,
    linked_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, lead_id, visit_id),
    FOREIGN KEY (account_id, lead_id) REFERENCES leads ON DELETE CASCADE
);
CREATE INDEX lead_visits_linked_at ON lead_visits (linked_at);
