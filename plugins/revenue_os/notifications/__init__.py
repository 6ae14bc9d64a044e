"""Who hears about what: on-call alerts, KPI owners' threshold alerts, the monthly pack.

Channels come from configuration (settings.py); e-mail goes through the Airflow SMTP
provider's `smtp_default` connection, a Slack-compatible webhook through plain HTTP. When a
channel is not configured nothing is sent and the log says so.
"""
