# The hub image: every hub service runs it with one `hub` subcommand (docker-compose.yml,
# rendered Kubernetes manifests). Settings come from HUB_* variables; secrets from files
# through FILE__<VAR>=<path> (deploy/docker/entrypoint.sh).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --uid 10001 --user-group --no-create-home --home-dir /var/lib/hub hub \
    && mkdir -p /var/lib/hub && chown hub:hub /var/lib/hub

WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY connectors ./connectors
COPY schemas ./schemas
COPY partnership ./partnership
# Editable, so the schemas, agreements and audit migrations are found beside the code
# (hub.config.project_root). The OTLP exporter serves HUB_TRACING=otlp.
RUN pip install -e . opentelemetry-exporter-otlp-proto-http

COPY deploy/docker/entrypoint.sh /usr/local/bin/hub-entrypoint
ENV HUB_DATA_DIR=/var/lib/hub
USER 10001
ENTRYPOINT ["hub-entrypoint"]
CMD ["--help"]
