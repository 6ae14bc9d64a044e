# The root of every stand-in: a Debian bookworm root file system (debootstrap, imported), plus
# the machine's CA bundle and uv. The bundle is there because builds reach the package registry
# through whatever TLS-inspecting proxy the machine's own trust store knows; test path only.
FROM revenue-os-compose-test/bookworm:rootfs
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY uv /usr/local/bin/uv
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    UV_SYSTEM_CERTS=1 \
    LANG=C.UTF-8
