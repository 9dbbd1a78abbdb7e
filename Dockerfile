# The goci Drone/Woodpecker plugin: Go plus goci, running `goci drone` in the build's workspace.
#   docker build -t goci-drone .
# Settings arrive as PLUGIN_* variables (see the README's .drone.yml snippet).
FROM golang:1.26-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv git \
    && rm -rf /var/lib/apt/lists/*

# goci runs here as the setup action runs it on a runner: its dependencies in a venv, installed
# exactly as requirements.lock pins them (wheels only, hashes checked), and goci itself from its
# sources through the launcher. Nothing is built: building goci into a package, or a dependency
# from an sdist, would fetch setuptools unpinned and unchecked into an image that runs with the
# store's and GitHub's credentials.
COPY requirements.lock /opt/goci-src/requirements.lock
COPY scripts/goci_main.py scripts/setup-goci.sh /opt/goci-src/scripts/
COPY src/goci /opt/goci-src/src/goci
RUN python3 -m venv /opt/goci \
    && /opt/goci/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: \
       -r /opt/goci-src/requirements.lock \
    && bash -c '. /opt/goci-src/scripts/setup-goci.sh \
       && write_launchers /opt/goci /opt/goci/bin/python /opt/goci-src /opt/goci/pycache' \
    && /opt/goci/bin/goci --version

ENV PATH="/opt/goci/bin:${PATH}" \
    GOTOOLCHAIN=local
ENTRYPOINT ["goci", "drone"]
