# One image for every streamvault process; the command picks which one runs:
#   docker run IMAGE run stg|dds|cdm   (HTTP_PORT 8001/8002/8003: /health, /ready, /metrics)
#   docker run IMAGE migrate           (one-shot, idempotent)
#   docker run IMAGE dashboard --host 0.0.0.0   (port 8050)
#   docker run IMAGE generate ...      (demo data)
# Settings are environment variables (docs/spec.md §4; see docs/deploy.md).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: wheels of streamvault and of every dependency ------------------------------------
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- runtime: the installed wheels only (no source tree, no wheel files) ---------------------
FROM ${PYTHON_IMAGE} AS runtime
# Logs unbuffered; no .pyc written at run time (the root file system may be read-only; pip
# compiled the installed modules already).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# A fixed numeric id, so Kubernetes' runAsNonRoot can verify it without a passwd lookup.
RUN groupadd --system --gid 10001 streamvault \
 && useradd --system --no-log-init --uid 10001 --gid streamvault --home-dir /app --shell /usr/sbin/nologin streamvault
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/streamvault-*.whl
WORKDIR /app
USER 10001:10001
EXPOSE 8001 8002 8003 8050
# The services finish the batch in flight on SIGTERM: give them 60 s (docker stop -t 60, compose
# stop_grace_period, Kubernetes terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM
ENTRYPOINT ["streamvault"]
CMD ["--help"]
