# Stands in for apache/airflow:<version>-python3.11 with what docker/airflow/Dockerfile and the
# compose file rely on: the user airflow (50000, group 0), AIRFLOW_HOME /opt/airflow with its
# logs, dags and plugins folders (a volume over logs/ takes their owner, airflow:0), a Python
# environment on PATH that `uv pip install` installs into, curl for the health checks, and an
# entrypoint under dumb-init that runs an Airflow subcommand (`scheduler`) as `airflow
# scheduler` and any other command (`bash script`) as given.
FROM revenue-os-compose-test/base:latest
RUN useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/dags /opt/airflow/plugins \
    && chown -R airflow:0 /opt/airflow && chmod -R 0775 /opt/airflow \
    && python3 -m venv /home/airflow/.venv && chown -R airflow:0 /home/airflow
COPY --chmod=0755 airflow-entrypoint.sh /entrypoint
ENV VIRTUAL_ENV=/home/airflow/.venv \
    PATH=/home/airflow/.venv/bin:/usr/local/bin:/usr/bin:/bin \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW_UID=50000
USER airflow
WORKDIR /opt/airflow
ENTRYPOINT ["/usr/bin/dumb-init", "--", "/entrypoint"]
CMD ["--help"]
