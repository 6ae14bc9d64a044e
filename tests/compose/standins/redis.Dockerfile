# Stands in for redis:<version>-bookworm with what docker-compose.scale-out.yml relies on: the
# user redis, redis-server and redis-cli on PATH (Debian's redis-server package).
FROM revenue-os-compose-test/base:latest
USER redis
WORKDIR /tmp
CMD ["redis-server"]
