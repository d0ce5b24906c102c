-- Properties service.asmx answered with neutral values until leadrouter kept them.
-- A lead field's layout in detail views (LeadExec's ColSpan, Width, Height); 0 = the default.
ALTER TABLE lead_fields
    ADD COLUMN col_span integer NOT NULL DEFAULT 0 CHECK (col_span >= 0),
    ADD COLUMN width    integer NOT NULL DEFAULT 0 CHECK (width >= 0),
    ADD COLUMN height   integer NOT NULL DEFAULT 0 CHECK (height >= 0);

-- A delivery account's criteria get ids of their own (LeadExec's ClientCriteriaUID), kept in
-- each criterion of delivery_accounts.criteria. The statements that write criteria number the
-- new ones (id 0, or none) with numbered_criteria, in the same statement; the criteria stored
-- before get theirs here, in order.
CREATE SEQUENCE criterion_ids;

CREATE FUNCTION numbered_criteria(criteria jsonb) RETURNS jsonb LANGUAGE sql VOLATILE AS $$
    SELECT coalesce(jsonb_agg(CASE WHEN coalesce((c ->> 'id')::bigint, 0) > 0 THEN c
                                   ELSE c || jsonb_build_object('id', nextval('criterion_ids'))
                              END ORDER BY n), '[]')
    FROM jsonb_array_elements(criteria) WITH ORDINALITY AS e(c, n)
$$;

UPDATE delivery_accounts SET criteria = numbered_criteria(criteria)
WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(criteria) c WHERE NOT c ? 'id');
