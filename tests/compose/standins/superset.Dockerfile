# Stands in for apache/superset:<version> (the lean image) with what docker/superset/Dockerfile
# and the compose file rely on: Superset installed in /app/.venv (from superset/requirements.lock,
# hash-checked), on PATH; the user superset (1000:1000) with SUPERSET_HOME /app/superset_home;
# uv and curl.
FROM revenue-os-compose-test/base:latest
COPY superset-requirements.lock /tmp/superset-requirements.lock
RUN groupadd --gid 1000 superset && useradd --uid 1000 --gid 1000 --home-dir /app/superset_home superset \
    && mkdir -p /app/superset_home && chown superset:superset /app/superset_home \
    && uv venv --python /usr/bin/python3.11 /app/.venv \
    && uv pip install --no-cache --python /app/.venv/bin/python --require-hashes \
        -r /tmp/superset-requirements.lock \
    && rm /tmp/superset-requirements.lock
ENV PATH=/app/.venv/bin:/usr/local/bin:/usr/bin:/bin \
    SUPERSET_HOME=/app/superset_home \
    FLASK_APP="superset.app:create_app()"
WORKDIR /app
USER superset
CMD ["superset", "--help"]
