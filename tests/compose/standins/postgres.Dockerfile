# Stands in for postgres:<version>-bookworm with what the compose file relies on: the user
# postgres, the data directory /var/lib/postgresql/data, and an entrypoint that initialises an
# empty data directory with POSTGRES_PASSWORD for the superuser, runs the scripts of
# /docker-entrypoint-initdb.d against a server on the local socket only, then serves. As in the
# official image, local and loopback connections are trusted and every other host needs a
# password (scram-sha-256), and the socket directory is world-writable (3777): a tmpfs mounted
# over it keeps that mode, with root as its owner.
FROM revenue-os-compose-test/base:latest
RUN mkdir -p /var/lib/postgresql/data /docker-entrypoint-initdb.d /var/run/postgresql \
    && chown postgres:postgres /var/lib/postgresql/data /var/run/postgresql \
    && chmod 0700 /var/lib/postgresql/data \
    && chmod 3777 /var/run/postgresql
COPY --chmod=0755 postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin \
    PGDATA=/var/lib/postgresql/data
USER postgres
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
