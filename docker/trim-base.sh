#!/bin/sh
# Trim the base image to what the gate runs (Dockerfile, stage `slim-base`; run as root).
#
# The runtime image is this trimmed base, flattened into one layer, plus the venv: a file
# deleted here is not shipped at all (a `RUN rm` on top of the base would only hide it).
# Removed, on either base (the official python:*-slim image or scripts/build-base-image.sh's
# debootstrap stand-in): Python's packaging tools (pip, setuptools, wheel, ensurepip and its
# bundled wheels, Debian's python-wheels), C headers and the build configuration, the parts
# of the standard library no gate code imports (IDLE, tkinter, turtle, lib2to3, distutils,
# the test package, pydoc's topic data), docs (not copyright files), man pages, translations,
# apt's and dpkg's caches and logs. Kept: the interpreter and the rest of its standard
# library, the OS (/bin/sh, coreutils, useradd, dpkg and apt for a CodeBuild buildspec that
# installs more), CA certificates, time zone data.
#
# Kept and completed: the standard library's compiled bytecode. The image runs with
# PYTHONDONTWRITEBYTECODE=1 as a user that cannot write there, so a module without a valid
# .pyc would be compiled again at every start (BENCHMARKS.md, "The container image"). The
# official python image deletes its .pyc files. All are (re)written as unchecked-hash pycs,
# valid whatever mtime the file has after the layers (see the builder stage's comment).
set -eu

log() { printf 'trim-base: %s\n' "$*" >&2; }
before=$(du -sxk / 2>/dev/null | cut -f1)

# Where this interpreter keeps its files (/usr/local/... in the official image, /usr/... on
# Debian); one path per line: stdlib, include dir, then every site directory.
paths=$(python3 -I -c '
import site, sysconfig
p = sysconfig.get_paths()
print(p["stdlib"]); print(p["include"])
for d in {p["purelib"], p["platlib"], *site.getsitepackages()}: print(d)
')
stdlib=$(printf '%s\n' "$paths" | sed -n 1p)
include=$(printf '%s\n' "$paths" | sed -n 2p)
[ -d "$stdlib" ] || { log "no standard library at '$stdlib'"; exit 1; }

# Packaging tools, wherever the base installed them.
printf '%s\n' "$paths" | sed -n '3,$p' | sort -u | while read -r site; do
    [ -d "$site" ] || continue
    rm -rf "$site"/pip "$site"/pip-*.dist-info "$site"/setuptools "$site"/setuptools-*.dist-info \
        "$site"/wheel "$site"/wheel-*.dist-info "$site"/pkg_resources "$site"/_distutils_hack \
        "$site"/distutils-precedence.pth
done
rm -rf "$stdlib"/ensurepip /usr/share/python-wheels "$include"
for dir in /usr/local/bin /usr/bin; do
    rm -f "$dir"/pip "$dir"/pip3 "$dir"/pip3.* "$dir"/idle* "$dir"/pydoc* "$dir"/2to3* \
        "$dir"/python3*-config "$dir"/wheel
done

# Standard library packages nothing in the gate imports (tests/security checks the venv).
rm -rf "$stdlib"/idlelib "$stdlib"/tkinter "$stdlib"/turtledemo "$stdlib"/turtle.py \
    "$stdlib"/lib2to3 "$stdlib"/distutils "$stdlib"/test "$stdlib"/pydoc_data \
    "$stdlib"/config-[0-9]*
find "$stdlib" -depth -type d \( -name tests -o -name idle_test \) -exec rm -rf {} +

# Documentation (but each package's copyright file: licences travel with the binaries, and
# SBOM scanners read them, as Debian's slim images keep them), translations, caches, logs.
if [ -d /usr/share/doc ]; then
    find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
    find /usr/share/doc -mindepth 1 -depth -type d -empty -delete
fi
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian \
    /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/* /tmp/* \
    /root/.cache
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true

# Bytecode for every standard-library module, independent of mtimes.
python3 -I -m compileall -q -f -j 0 --invalidation-mode unchecked-hash "$stdlib" >/dev/null

log "removed $(( (before - $(du -sxk / 2>/dev/null | cut -f1)) / 1024 )) MiB from the base (stdlib: $stdlib)"
