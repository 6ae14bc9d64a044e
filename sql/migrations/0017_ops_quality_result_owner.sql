-- Who fixes a failing check at its source, and the check and its table in words, as Data
-- Health and the packs show them: a check's `owner` attribute in its Soda contract (Sales
-- Operations for the CRM hygiene rules; null for the data platform's own checks), its name
-- (`Open deals without a next step`) and its table (`Salesforce opportunities`). Rows
-- recorded before have none: readers fall back to the check's path and the table's name.
ALTER TABLE ops.quality_results
    ADD COLUMN owner text,
    ADD COLUMN check_label text,
    ADD COLUMN dataset_label text;
