# syntax=docker/dockerfile:1
#
# Codex Orchestrator: one image that runs `orch serve` on port 3000.
#
#   docker build -t codex-orchestrator .
#   docker run --env-file orch.env -p 3000:3000 -v orch-data:/data -v "$PWD:/repo" codex-orchestrator
#
# Secrets (Slack tokens, signing secret, model keys) come from the environment at run time and are
# never baked into the image.

# Builder: turn the project and its pinned dependencies into wheels, so the final image needs no
# build tooling and installs offline from exactly those wheels.
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src

# setuptools reads pyproject.toml and README.md (the package readme) to build the wheel.
COPY pyproject.toml constraints.txt README.md ./
COPY bot/ bot/
COPY handlers/ handlers/
COPY storage/ storage/
COPY sandbox/ sandbox/

# constraints.txt pins every transitive dependency, so the image gets the versions CI tested.
RUN pip wheel --wheel-dir /wheels --constraint constraints.txt .


# The pinned Codex CLI, the builder the bot drives (`codex app-server`). npm installs the launcher and
# the native binary for this platform; only the native part (binary, ripgrep, resources) is kept, so
# the final image needs no Node.js. Keep CODEX_VERSION in step with the Makefile and bot/codex/binary.py.
FROM node:22-slim AS codex

ARG CODEX_VERSION=0.169.0
RUN npm install --global --no-audit --no-fund "@openai/codex@${CODEX_VERSION}" \
    && native="$(dirname "$(dirname "$(find "$(npm root -g)/@openai" -path '*/vendor/*/bin/codex' -type f | head -n 1)")")" \
    && test -x "$native/bin/codex" \
    && cp -a "$native" /opt/codex \
    && /opt/codex/bin/codex --version


FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# The bot drives the git CLI (worktrees, commits) in the target repository; Codex sandboxes the
# commands it runs with bubblewrap.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git bubblewrap \
    && rm -rf /var/lib/apt/lists/*

# Codex: the builder whenever a model provider is configured (OPENAI_BASE_URL, ORCH_CODEX_PROVIDER_URL
# or OPENAI_API_KEY at run time). Its ripgrep sits in codex-path, which the npm launcher would put on PATH.
COPY --from=codex /opt/codex /opt/codex
ENV PATH="/opt/codex/bin:/opt/codex/codex-path:${PATH}" \
    ORCH_CODEX_BIN=/opt/codex/bin/codex

# A fixed uid lets operators give a mounted /repo or /data to the same uid on the host. Git refuses a
# repository owned by another uid ("dubious ownership"): run with --user matching the owner of /repo
# (and a writable /data), or add /repo to git's safe.directory deliberately.
RUN groupadd --system --gid 10001 orch \
    && useradd --system --uid 10001 --gid orch --home-dir /app --shell /usr/sbin/nologin orch \
    && mkdir -p /app /data /repo \
    && chown orch:orch /app /data /repo

# Bind-mount the wheels instead of copying them, so they never become a layer of the final image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels codex-orchestrator

ENV ORCH_DATABASE_URL=sqlite:////data/orch.db \
    ORCH_REPO=/repo \
    ORCH_HOST=0.0.0.0

WORKDIR /app
# The evaluation fixtures `orch eval` scores drafters on (run from /app).
COPY --chown=orch:orch evals/ evals/
# Declared after the chown above: a fresh named volume is seeded with that ownership.
VOLUME ["/data"]
EXPOSE 3000

# python:slim has no curl; the interpreter is already there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=3).status == 200 else 1)"

USER orch
ENTRYPOINT ["orch"]
CMD ["serve"]
