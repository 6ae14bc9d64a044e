-- The fields each source object's extraction asks for, as a digest. When a release asks for
-- more (the opportunities' forecast category, next step and loss reason), records loaded
-- before lack them and an incremental read would never bring them: the next load reads the
-- object whole once. Null (objects loaded before this column) counts as different.
ALTER TABLE ops.source_state ADD COLUMN fields_digest text;
