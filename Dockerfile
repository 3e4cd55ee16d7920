# Production image: slim Python, Pango and fonts for WeasyPrint, the portal as a non-root user.
# One image for every process: the web (the default command), `flask --app wsgi worker`,
# `flask --app wsgi scheduler` and the release step `flask --app wsgi db upgrade`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CENTER_ENV=production CENTER_INSTANCE_PATH=/srv/center/instance

RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
      fonts-noto-core fonts-nanum fonts-noto-cjk fonts-dejavu-core curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/center
# The exact, hash-checked versions first (a layer that changes only with the lock file),
# then the portal itself without resolving anything again.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md wsgi.py ./
COPY center center
COPY config config
COPY templates templates
COPY migrations migrations
RUN pip install --no-deps -e . \
 && useradd --system --uid 10001 --home /srv/center center \
 && mkdir -p instance && chown -R center instance
USER center

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1

# Serve only: migrations are the release step, run once before a new version's processes
# start (`flask --app wsgi db upgrade`, see README "Production"). SECRET_KEY, DATABASE_URL,
# STORAGE_URL and REDIS_URL must come from the environment.
CMD ["gunicorn", "-c", "config/gunicorn.py", "wsgi:app"]
