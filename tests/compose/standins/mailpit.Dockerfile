# Stands in for axllent/mailpit:<version>: SMTP on 1025 that accepts every message, a count of
# them over HTTP on 8025 (/api/v1/messages, as Mailpit's API names it), and `/mailpit readyz`.
FROM revenue-os-compose-test/base:latest
COPY --chmod=0755 mailpit.py /mailpit
ENTRYPOINT ["/mailpit"]
