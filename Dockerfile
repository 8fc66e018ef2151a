# One image for every service; the command picks which (`wangge registry run`, `wangge cases
# migrate`, `wangge-events relay ...`). docker-compose.yml and deploy/k8s run it.
#
#   docker build -t wangge:0.1.0 .                      # uv and the frozen lock, from PyPI
#   make wheelhouse && docker build --network=none \
#       --build-arg WHEELHOUSE=yes -t wangge:0.1.0 .    # no network at all (政务内网)
#
# The base image is a build argument so that a data centre with a registry of its own (or the
# compose test, with its stand-ins) names its copy of the official one.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# no: install with uv from the index; yes: install from the wheels `make wheelhouse` put
# under .dev/wheelhouse, never touching the network
ARG WHEELHOUSE=no
ARG UV_VERSION=0.13.9
ENV PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/wangge
WORKDIR /src
# Third-party packages first, in a layer of their own that only a changed lock rebuilds. The
# globs match nothing when there is no wheelhouse; uv.lock keeps each COPY valid then.
COPY uv.lock .dev/wheelhouse/dep* /wheelhouse/deps/
RUN set -eu; \
    if [ "$WHEELHOUSE" = yes ]; then \
        python3 -m venv /opt/wangge; \
        /opt/wangge/bin/pip install --quiet --no-index --no-deps --no-compile \
            --find-links /wheelhouse/deps -r /wheelhouse/deps/requirements.txt; \
    fi
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY uv.lock .dev/wheelhouse/workspac* /wheelhouse/workspace/
# The replay's compiled part (wangge-replay-native, Rust) stays out: no service needs it and
# the replay falls back on its pure-Python twin, so the image needs no Rust toolchain.
RUN set -eu; \
    if [ "$WHEELHOUSE" = yes ]; then \
        /opt/wangge/bin/pip install --quiet --no-index --no-deps --no-compile /wheelhouse/workspace/*.whl; \
        /opt/wangge/bin/python -m compileall -q -j 0 /opt/wangge/lib; \
        /opt/wangge/bin/pip uninstall --quiet --yes pip; \
    else \
        python3 -m venv /opt/uv && /opt/uv/bin/pip install --quiet "uv==${UV_VERSION}"; \
        /opt/uv/bin/uv sync --frozen --no-dev --no-editable --no-install-package wangge-replay-native; \
    fi; \
    /opt/wangge/bin/wangge --help >/dev/null

FROM ${PYTHON_IMAGE}
# a fixed uid, so that volumes and a Kubernetes securityContext can name it
RUN useradd --uid 10001 --user-group --home-dir /var/lib/wangge --create-home --shell /usr/sbin/nologin wangge
COPY --from=build /opt/wangge /opt/wangge
ENV PATH=/opt/wangge/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WANGGE_DATA_DIR=/var/lib/wangge
USER wangge
WORKDIR /var/lib/wangge
EXPOSE 8000
# alive, not ready: /readyz also asks the database and Kafka, and a container restarted for a
# broker outage would only make it longer (the orchestrator reads /readyz)
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["wangge"]
CMD ["--help"]
