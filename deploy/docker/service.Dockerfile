# syntax=docker/dockerfile:1
#
# RSE service image, one for every service (services/<name>/Dockerfile links here).
#
# Build with the REPOSITORY ROOT as context (the uv workspace lives there):
#   docker build -f services/identity/Dockerfile --build-arg SERVICE=identity \
#       --build-arg PORT=8001 -t rse/identity:dev .
#
# Workspace handling: the root pyproject.toml lists `services/*` as members, but only
# this service and shared/ are copied in. That is deliberate and correct: with
# `--frozen` uv installs straight from uv.lock and never re-resolves, so members that
# are absent from the build context/stage (the other services) are not needed, and
# `--package` restricts the install to this service's dependency closure.
# `--no-editable` builds rse-shared and rse-<service> as real wheels into the venv, so
# the runtime stage needs the venv only, not the source tree.

ARG SERVICE=identity
ARG PORT=8001
ARG PYTHON_IMAGE=python:3.11-slim
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# =============================================================================
# Builder: resolve from uv.lock into /opt/venv
# =============================================================================
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE

COPY --from=uv /uv /bin/uv

ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

WORKDIR /src

# 1) Third-party dependencies only. Needs just the root pyproject.toml and uv.lock,
#    so this layer is reused until the lock file changes.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "rse-${SERVICE}" \
        --no-install-workspace

# 2) The workspace packages this service needs: shared kernel + the service itself.
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "rse-${SERVICE}" \
 && /opt/venv/bin/python -c "import rse_shared, rse_${SERVICE}"

# =============================================================================
# Runtime: slim Python + the venv, unprivileged
# =============================================================================
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG PORT

LABEL org.opencontainers.image.title="rse-${SERVICE}" \
      org.opencontainers.image.description="RSE ${SERVICE} service"

# libpq5: psycopg 3 is installed without the [binary]/[c] extra (via
# eventsourcing[postgres]), so its pure-Python implementation loads the system libpq.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 rse \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin rse

# Owned by root and read-only for the service user.
COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    RSE_SERVICE=${SERVICE} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RSE_HTTP_HOST=0.0.0.0 \
    RSE_HTTP_PORT=${PORT}

WORKDIR /app
USER 10001:10001
EXPOSE ${PORT}

# Reads RSE_HTTP_PORT at run time, so it stays correct if compose overrides the port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('RSE_HTTP_PORT', '8001'); r = urllib.request.urlopen(f'http://127.0.0.1:{port}/health/live', timeout=4); sys.exit(0 if r.status == 200 else 1)"]

CMD ["/bin/sh", "-c", "exec rse-${RSE_SERVICE} serve"]
