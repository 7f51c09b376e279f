# syntax=docker/dockerfile:1.7
#
# The wfhost host image: the `wfhost` Python package (with the Deno binary its `deno`
# dependency ships), the TypeScript SDK and the built-in workflows, running as a non-root
# user. The chart (charts/wfhost) runs it with a read-only root filesystem; only
# sandbox.stateDir and /tmp are writable there.
#
#   docker build -t ghcr.io/wfhost/wfhost:0.1.0 .
#
# Layout: a virtualenv at /opt/wfhost; the SDK and built-ins under /opt/wfhost/share/wfhost,
# where host/paths.py finds them by default (sys.prefix/share/wfhost) and where the chart's
# image.paths values point.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/wfhost
WORKDIR /src
COPY pyproject.toml README.md ./
COPY host/ host/
RUN /opt/wfhost/bin/pip install . \
 && /opt/wfhost/bin/python -c "import deno, host; print('deno at', deno.find_deno_bin())"
COPY sdk-ts/ /opt/wfhost/share/wfhost/sdk-ts/
COPY builtin_workflows/ /opt/wfhost/share/wfhost/builtin_workflows/

# Prepare Deno's module cache with the SDK type-checked, and prove that the SDK and every
# built-in workflow (each subdirectory of the directory the chart's
# image.paths.builtinWorkflows points the host at is a workflow directory, as the host loads
# them) validate and type-check with no network
# at all: the sandbox runs workflows with --no-remote --no-npm --cached-only, so nothing
# may need fetching at run time. The build fails here if anything would. pip and
# setuptools are dropped afterwards: nothing installs at run time.
ENV DENO_DIR=/opt/wfhost/share/wfhost/deno-cache \
    DENO_NO_UPDATE_CHECK=1
RUN --network=none set -eu; \
    deno="$(/opt/wfhost/bin/python -c 'import deno; print(deno.find_deno_bin())')"; \
    share=/opt/wfhost/share/wfhost; \
    printf '{"imports": {"@wfhost/sdk": "%s/sdk-ts/mod.ts"}}\n' "$share" > /tmp/import_map.json; \
    "$deno" check --no-remote --no-npm --no-config --no-lock --quiet \
        --import-map=/tmp/import_map.json "$share/sdk-ts/mod.ts"; \
    printf 'sandbox:\n  stateDir: /tmp/wfhost-check\n  sdkPath: %s/sdk-ts\n' "$share" > /tmp/check.yaml; \
    for dir in "$share"/builtin_workflows/*/; do \
        /opt/wfhost/bin/wfhost check --config /tmp/check.yaml "$dir"; \
    done; \
    rm -rf /tmp/wfhost-check /tmp/import_map.json /tmp/check.yaml; \
    /opt/wfhost/bin/pip uninstall --yes --quiet pip setuptools

FROM ${PYTHON_IMAGE}
# tini as PID 1: forwards SIGTERM to the host and reaps any orphaned child.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 wfhost \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin wfhost
COPY --from=build /opt/wfhost /opt/wfhost
ENV PATH=/opt/wfhost/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DENO_DIR=/opt/wfhost/share/wfhost/deno-cache \
    DENO_NO_UPDATE_CHECK=1
# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "wfhost"]
CMD ["run", "--config", "/etc/wfhost/config.yaml"]
