#!/usr/bin/env bash
# Build a local stand-in for python:3.12-slim-bookworm when no registry can be pulled.
#
# debootstrap a minimal Debian bookworm (python3, python3-venv, ca-certificates) into a
# folder, then `buildah from scratch` + copy + commit. The result has python3 at
# /usr/bin/python3 (3.11), which the Dockerfile handles the same way as the slim image's
# /usr/local/bin/python3.
#
# Idempotent and cached: if the image already exists nothing is done (FORCE=1 rebuilds);
# a finished rootfs is kept in $BASE_CACHE_DIR so a rebuild only re-commits it.
#
# Env:
#   BASE_IMAGE_NAME   image to produce   (default localhost/soc2gate-base:bookworm)
#   BASE_CACHE_DIR    rootfs cache       (default /var/cache/soc2gate-base)
#   DEBIAN_MIRROR     debootstrap mirror (default: the first bookworm URI in the host's
#                     apt sources, else debootstrap's own default)
#   FORCE=1           rebuild the image (and the rootfs with FORCE=2)
set -euo pipefail

image=${BASE_IMAGE_NAME:-localhost/soc2gate-base:bookworm}
cache=${BASE_CACHE_DIR:-/var/cache/soc2gate-base}
rootfs=$cache/rootfs
force=${FORCE:-0}
start=$SECONDS

log() { printf '[build-base-image] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (debootstrap and buildah's chroot isolation need it)"
    exit 2
fi
for tool in buildah debootstrap; do
    command -v "$tool" >/dev/null || { log "$tool is not installed (apt-get install -y buildah debootstrap)"; exit 2; }
done

if [ "$force" = 0 ] && buildah inspect --type image "$image" >/dev/null 2>&1; then
    log "$image already exists; nothing to do (FORCE=1 to rebuild)"
    exit 0
fi

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    # Reuse the host's configured mirror: a machine that can apt-get can also debootstrap.
    mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 || true)
fi

# The marker is written last, so an interrupted debootstrap is never mistaken for a cache.
if [ "$force" = 2 ] || [ ! -f "$cache/.complete" ]; then
    log "debootstrap bookworm into $rootfs (mirror: ${mirror:-debootstrap default})"
    rm -rf "$rootfs" "$cache/.complete"
    mkdir -p "$cache"
    # shellcheck disable=SC2086  # $mirror is empty or one URL
    debootstrap --variant=minbase \
        --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" $mirror
    # Shrink the layer: package lists and caches are not needed at run time.
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/tmp/*
    touch "$cache/.complete"
else
    log "reusing cached rootfs $rootfs"
fi

log "committing $image"
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
mnt=$(buildah mount "$ctr")
# cp -a keeps owners, modes, hard links and device nodes.
cp -a "$rootfs"/. "$mnt"/
buildah umount "$ctr" >/dev/null
buildah config \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 \
    --cmd /bin/bash \
    --label org.opencontainers.image.description="Debian bookworm minbase + python3 (local stand-in for python:3.12-slim-bookworm)" \
    "$ctr"
buildah commit --quiet --rm "$ctr" "$image" >/dev/null
trap - EXIT
log "done: $image in $((SECONDS - start))s"
