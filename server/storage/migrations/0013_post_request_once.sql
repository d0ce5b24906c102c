-- A request's body is logged once, not once per lead. Each lead of a request has its own post
-- log entry, and each kept the body (up to 64 KiB): a 1 MiB request of 500 leads wrote 32 MiB,
-- one with bad credentials too. Now the request's first entry keeps the body, and the entries
-- of its further leads keep none and name that first entry here.

ALTER TABLE posts ADD COLUMN request_post_id uuid;
