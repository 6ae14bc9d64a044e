"""The warehouse: schemas (raw, staging, mart, ops), their migrations and the ops records."""
