-- The statement trigger of 0038 looks each finished send's lead up. Planned over a transition
-- table, whose size the planner does not know, the lookup became a hash join reading every
-- lead of the table for each statement (pg_stat_user_tables in bench/distribution.py: about
-- one sequential scan of `leads` per lead sold). The function is planned with hash and merge
-- joins and sequential scans off, so each lead is found through its primary key, whatever
-- the table's size and whatever plan the function has cached.
ALTER FUNCTION report_sends_updated()
    SET enable_hashjoin = off
    SET enable_mergejoin = off
    SET enable_seqscan = off;
