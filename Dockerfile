# One image for every cp247 service; the command names the service:
#   docker run cp247 intake        (nameko run services.intake.service)
#   docker run cp247 cp247 users add ...   (any other command runs as given)
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY cp247 ./cp247
COPY events ./events
COPY services ./services
RUN python -m venv /opt/cp247 \
 && /opt/cp247/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/cp247/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
# psycopg (from eventsourcing[postgres]) is the pure-Python one: it loads the system's libpq.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system cp247 && useradd --system --gid cp247 --home-dir /app cp247 \
 && mkdir -p /app/cp247-data && chown cp247:cp247 /app/cp247-data
COPY --from=build /opt/cp247 /opt/cp247
COPY infra /app/infra
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
WORKDIR /app
ENV PATH=/opt/cp247/bin:$PATH PYTHONUNBUFFERED=1 CP247_DATA_DIR=/app/cp247-data
USER cp247
EXPOSE 8000
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["gateway"]
