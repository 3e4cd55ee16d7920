# Production image: slim Python, Pango and fonts for WeasyPrint, gunicorn as a non-root user.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    CENTER_ENV=production CENTER_INSTANCE_PATH=/srv/center/instance

RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
      fonts-noto-core fonts-nanum fonts-noto-cjk fonts-dejavu-core curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/center
COPY pyproject.toml README.md ./
COPY center center
COPY config config
RUN pip install -e ".[semantic]"
COPY wsgi.py ./
COPY templates templates
COPY migrations migrations

RUN useradd --system --uid 10001 --home /srv/center center \
 && mkdir -p instance && chown -R center instance
USER center

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1

# Apply migrations, then serve. SECRET_KEY and DATABASE_URL must come from the environment.
CMD ["sh", "-c", "flask --app wsgi db upgrade && exec gunicorn --bind 0.0.0.0:8000 --workers 3 --access-logfile - wsgi:app"]
