-- A change dated by its rows (revenue_os.transform.changes): beside each changed value, the
-- earliest day among the changed rows that carry it, for a reader whose rows read only the
-- input rows dated on or before their own (a conversion's touches are those up to it). A
-- touch dated after every conversion of its account moves none of the account's attribution.
-- Null: not dated, or some changed row had no date; such a change reaches as before.
ALTER TABLE ops.model_changes ADD COLUMN first_day date;
