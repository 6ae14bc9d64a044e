"""Dashboards as code: YAML specs compiled into a Superset import bundle.

`specs.load_specs()` reads and validates `superset/dashboards/*.yaml`; `bundle.build_bundle()`
turns them, with datasets and metrics generated from the metric contracts, into the ZIP that
`POST /api/v1/assets/import/` takes; `superset_client.SupersetClient` imports it.
"""
