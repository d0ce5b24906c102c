-- Properties service.asmx answered with neutral values until leadrouter kept them.
-- A lead field's layout in detail views (LeadExec's ColSpan, Width, Height); 0 = the default.
ALTER TABLE lead_fields
    ADD COLUMN col_span integer NOT NULL DEFAULT 0 CHECK (col_span >= 0),
    ADD COLUMN width    integer NOT NULL DEFAULT 0 CHECK (width >= 0),
    ADD COLUMN height   integer NOT NULL DEFAULT 0 CHECK (height >= 0);
