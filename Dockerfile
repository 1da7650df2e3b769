# Bevakning as a container: SQLite under /app/var by default (mount a volume there), or set
# BEVAKNING_DATABASE_URL to a PostgreSQL URL. Secrets come in as environment variables
# (BEVAKNING_WEB_SECRET_KEYS, BEVAKNING_MAIL_SMTP_PASSWORD, …).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BEVAKNING_CONFIG=/app/config.toml \
    BEVAKNING_WEB_HOST=0.0.0.0

WORKDIR /app
COPY pyproject.toml README.md config.toml ./
COPY service ./service
COPY templates ./templates
COPY plans ./plans
# Installed in place (editable): the code finds templates/ beside the package, as in a checkout.
RUN pip install -e . \
    && useradd --system --home-dir /app bevakning \
    && mkdir -p /app/var \
    && chown bevakning /app/var

USER bevakning
VOLUME ["/app/var"]
EXPOSE 8080

HEALTHCHECK --interval=60s --timeout=5s \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz').status != 200)"

CMD ["bevakning", "run"]
