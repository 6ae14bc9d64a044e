"""The local runtime: a project-local Postgres, Airflow and Superset on loopback, no Docker.

`revenue-os demo` (revenue_os_stack.stack) installs what is missing, starts each service as
a process of its own with a PID file under .local/<profile>/run, and `revenue-os down` stops
exactly those processes.
"""
