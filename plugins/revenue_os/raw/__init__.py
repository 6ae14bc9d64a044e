"""The raw layer: vendor records as extracted, one table per source object.

Each raw table holds typed key columns, the whole record as JSONB, and load metadata (batch id,
extracted at, source updated at). `loader.load_pages` bulk-loads with COPY into a temporary
table and merges by natural key in one transaction together with the quarantine and the
extraction state, so a failed load changes nothing and the watermark only moves with the data.
"""
