"""Connectors: one per vendor API, each a real HTTP client with the vendor's paging.

They share `http.VendorClient` for retries (429, 5xx, timeouts, truncated bodies; exponential
back-off with jitter, honouring Retry-After) and for errors that name the source and what to
fix. A connector yields pages of records; loading them is revenue_os.raw's job.
"""
