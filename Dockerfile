# The goci Drone/Woodpecker plugin: Go plus goci, running `goci drone` in the build's workspace.
#   docker build -t goci-drone .
# Settings arrive as PLUGIN_* variables (see the README's .drone.yml snippet).
FROM golang:1.26-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv git \
    && rm -rf /var/lib/apt/lists/*

COPY . /opt/goci-src
# goci's dependencies exactly as requirements.lock pins them (hashes checked), then goci alone.
RUN python3 -m venv /opt/goci \
    && /opt/goci/bin/pip install --no-cache-dir --require-hashes -r /opt/goci-src/requirements.lock \
    && /opt/goci/bin/pip install --no-cache-dir --no-deps /opt/goci-src \
    && rm -rf /opt/goci-src \
    && /opt/goci/bin/goci --version

ENV PATH="/opt/goci/bin:${PATH}" \
    GOTOOLCHAIN=local
ENTRYPOINT ["goci", "drone"]
