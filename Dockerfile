# Bevakning as a container: SQLite under /app/var by default (mount a volume there), or set
# BEVAKNING_DATABASE_URL to a PostgreSQL URL. Secrets come in as environment variables
# (BEVAKNING_WEB_SECRET_KEYS, BEVAKNING_MAIL_SMTP_PASSWORD, …).
#
# Required: BEVAKNING_WEB_PUBLIC_URL, the address people reach the service at
# (https://bevakning.kommun.se). Every link in every mail starts with it; left unset they would point
# at 127.0.0.1 inside this container, so the container refuses to start without it.
#
# Behind the municipality's reverse proxy (TLS ends there): set BEVAKNING_WEB_FORWARDED_ALLOW_IPS to
# the proxy's address, so the service reads the client's address from X-Forwarded-For (the rate
# limit on forged links then sees each client, not the proxy). Never "*" on a port others can reach.
#
# Upgrading (README, Uppgradera): the embedded SQLite store is upgraded when the new image starts,
# after a backup beside the database in /app/var. A PostgreSQL store is not: run
#   docker run --rm -e BEVAKNING_DATABASE_URL=… IMAGE bevakning migrate
# once (after pg_dump) before starting the new image; until then it refuses to start and says so.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BEVAKNING_CONFIG=/app/config.toml \
    BEVAKNING_WEB_HOST=0.0.0.0 \
    BEVAKNING_WEB_PORT=8080

# The PDF report is WeasyPrint from the printable page; it lays out text with Pango.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md config.toml ./
COPY service ./service
COPY templates ./templates
COPY plans ./plans
# Installed in place (editable): the code finds templates/ beside the package, as in a checkout.
# The schema revisions (service/migrations) are part of the package.
RUN pip install -e . \
    && useradd --system --home-dir /app bevakning \
    && mkdir -p /app/var \
    && chown bevakning /app/var

USER bevakning
VOLUME ["/app/var"]
# The port the service listens on inside the container (BEVAKNING_WEB_PORT; change both together).
EXPOSE 8080

# Asks the port the service was configured with, not a fixed one.
HEALTHCHECK --interval=60s --timeout=5s \
    CMD python -c "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('BEVAKNING_WEB_PORT', '8080') + '/healthz').status != 200)"

CMD ["sh", "-c", ": \"${BEVAKNING_WEB_PUBLIC_URL:?Sätt BEVAKNING_WEB_PUBLIC_URL till adressen tjänsten nås på, t.ex. https://bevakning.kommun.se}\" && exec bevakning run"]
