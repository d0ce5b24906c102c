-- The callbacks' poll walks callbacks_due from its oldest entry. Its predicate named `state`,
-- which leasing a callback changes (pending -> sending): each lease was an update that could
-- not be HOT and wrote a second entry next to the first, and the index pages at the front of
-- the walk kept changing, so the entries of callbacks delivered were seldom marked dead by
-- the scans that passed them (a page changed since it was read is left as it is). Under load
-- each poll read thousands of dead entries until autovacuum came (bench/receiver_async.py:
-- about 1,200 index entries read per queued post). The index now holds the callbacks not
-- finished (finished_at is NULL for pending and sending ones), so a lease changes no indexed
-- column, and the table leaves room on each page for the lease's update to be HOT.
DROP INDEX callbacks_due;
CREATE INDEX callbacks_due ON callbacks (next_attempt_at) WHERE finished_at IS NULL;
ALTER TABLE callbacks SET (fillfactor = 50);
