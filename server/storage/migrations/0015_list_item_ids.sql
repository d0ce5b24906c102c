-- Distribution list items get ids of their own (LeadExec's CustomItemUID). Items are kept by
-- value (an edit changes the row of the same value), so an item keeps its id.
ALTER TABLE distribution_list_items ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX distribution_list_items_id ON distribution_list_items (account_id, id);
