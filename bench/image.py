"""Measurement 7: the container image (issue 12): its size, what the project adds over the base,
the container's start to the first AWS call, and (full run) the image built from scratch.

Needs buildah and root, as scripts/container-test.sh does, and the images that script builds:

    SOC2GATE_BENCH_IMAGE       the image measured        (default localhost/soc2gate:test)
    SOC2GATE_BENCH_BASE_IMAGE  its base                  (default localhost/soc2gate-base:bookworm)
    SOC2GATE_BENCH_BEFORE      another image to set beside it, e.g. one built from an older
                               Dockerfile (optional)

Without buildah, without root or without the image, the measurement is skipped: one row says
why, and bench/run.py still exits 0. Nothing is pulled: every image must be local.

Start-up: each container runs with `buildah run --isolation chroot --network host` against the
benchmark's moto world on 127.0.0.1 (AWS_ENDPOINT_URL); a run is timed from the moment
`buildah run` is spawned to the first request the world sees, so it includes what the runtime
does before the process starts (here buildah's chroot set-up; on a runner, docker's). Compared
with bare boto3 (import, 2 clients, 1 call each) run in the same image, with the same image
after deleting every ``__pycache__`` (what precompiled bytecode saves at each start), and with
`/bin/true` and `python3 -c pass` in the base (the container's and the interpreter's own cost).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import BENCH, Broken, Samples, expect_ok, interleaved, run_proc

ROOT = BENCH.parent
IMAGE = os.environ.get("SOC2GATE_BENCH_IMAGE", "localhost/soc2gate:test")
BASE = os.environ.get("SOC2GATE_BENCH_BASE_IMAGE", "localhost/soc2gate-base:bookworm")
BEFORE = os.environ.get("SOC2GATE_BENCH_BEFORE", "")
BUILT = "localhost/soc2gate:bench-scratch-build"
MB = 1e6


def _buildah(*args: str, timeout: float = 120.0) -> str:
    proc = subprocess.run(
        ["buildah", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode:
        raise Broken(f"buildah {' '.join(args[:3])}: exit {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def _exists(image: str) -> bool:
    return (
        subprocess.run(
            ["buildah", "inspect", "--type", "image", image], capture_output=True, check=False
        ).returncode
        == 0
    )


def skip_reason() -> str:
    """Why this measurement cannot run here ("" when it can)."""
    if shutil.which("buildah") is None:
        return "buildah is not installed (scripts/container-test.sh installs it with apt-get)"
    if os.geteuid() != 0:
        return "needs root (buildah's chroot isolation), as scripts/container-test.sh does"
    missing = [i for i in (IMAGE, BASE) if not _exists(i)]
    if missing:
        return (
            f"no local image {', '.join(missing)}: run scripts/container-test.sh first (it builds "
            "both), or set SOC2GATE_BENCH_IMAGE / SOC2GATE_BENCH_BASE_IMAGE"
        )
    return ""


def inspect(image: str) -> dict[str, Any]:
    return json.loads(_buildah("inspect", "--type", "image", image))


def layers(image: str) -> list[tuple[int, str]]:
    """(uncompressed bytes, the instruction that made it) for each layer of ``image``."""
    data = inspect(image)
    manifest = data["Manifest"]
    manifest = json.loads(manifest) if isinstance(manifest, str) else manifest
    made = [
        h.get("created_by", "?")
        for h in data["OCIv1"].get("history", [])
        if not h.get("empty_layer")
    ]
    sizes = [int(layer["size"]) for layer in manifest["layers"]]
    if len(made) != len(sizes):
        made = ["?"] * len(sizes)
    return [(size, _short(what)) for size, what in zip(sizes, made, strict=True)]


def _short(created_by: str) -> str:
    text = created_by.replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ")
    text = re.sub(r"^(COPY|ADD) (?:dir|file|multi):\S+ in (\S+)", r"\1 to \2", text.strip())
    return " ".join(text.split())[:48] or "the base's own layer"


def packed_and_pulled(image: str, tmp: Path, repeat: int = 3) -> tuple[int, float]:
    """Bytes of the gzip-compressed layers (what a registry stores and a job pulls), and the
    seconds to pull them from a local OCI layout into an empty store: decompress and unpack,
    the part of a pull that is not the network (median of ``repeat``, each a fresh store)."""
    work = tmp / f"oci-{abs(hash(image))}"
    shutil.rmtree(work, ignore_errors=True)
    layout = work / "layout"
    work.mkdir(parents=True)
    _buildah("push", "-q", "--compression-format", "gzip", image, f"oci:{layout}", timeout=600)
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
    size = sum(int(layer["size"]) for layer in manifest["layers"])
    driver = _buildah("info", "--format", "{{.store.GraphDriverName}}").strip() or "overlay"
    pulls = Samples()
    for attempt in range(repeat):
        store = ["--storage-driver", driver, "--root", str(work / f"store{attempt}"),
                 "--runroot", str(work / f"run{attempt}")]  # fmt: skip
        start = time.perf_counter()
        _buildah(*store, "pull", "-q", f"oci:{layout}", timeout=600)
        pulls.add(time.perf_counter() - start)
        subprocess.run(["buildah", *store, "rmi", "-a", "-f"], capture_output=True, check=False)
    shutil.rmtree(work, ignore_errors=True)
    return size, pulls.median


def pyc_bytes(mount: Path) -> dict[str, int]:
    """Bytes of compiled bytecode in a mounted image: the venv's and the rest (the stdlib)."""
    out = {"venv": 0, "stdlib": 0}
    for top in ("opt", "usr"):
        for dirpath, _dirs, files in os.walk(mount / top):
            if os.path.basename(dirpath) != "__pycache__":
                continue
            key = "venv" if top == "opt" else "stdlib"
            out[key] += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return out


#: Run in the image (``python -I -B``): how many of the modules the gate imports have no .pyc
#: this interpreter would use as it is, i.e. are compiled again at every start.
STALE_SCRIPT = """
import importlib.util as u, os, sys
import boto3, soc2gate.cli
def fresh(src):
    try:
        with open(u.cache_from_source(src), "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    if int.from_bytes(head[4:8], "little") & 1:
        return True
    st = os.stat(src)
    return head[8:12] == (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
src = [m.__file__ for m in list(sys.modules.values()) if (getattr(m, "__file__", "") or "").endswith(".py")]
print(sum(not fresh(s) for s in src), len(src))
"""


def stale_modules(ctr: str) -> tuple[int, int]:
    """(modules recompiled at each start, modules imported) for the gate in container ``ctr``."""
    cmd = _run_cmd(
        ctr, {}, ["/opt/soc2gate/bin/python", "-I", "-B", "-c", STALE_SCRIPT], "1000:1000"
    )
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    try:
        stale, total = (int(x) for x in out.stdout.split()[-2:])
    except ValueError:
        raise Broken(
            f"stale-bytecode probe failed: {out.stdout[-500:]}{out.stderr[-1500:]}"
        ) from None
    return stale, total


class Containers:
    """Working containers made with ``buildah from``, removed on exit."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def make(self, image: str) -> str:
        ctr = _buildah("from", "--pull=never", "--quiet", image).strip()
        self.ids.append(ctr)
        return ctr

    def __enter__(self) -> Containers:
        return self

    def __exit__(self, *exc: object) -> None:
        for ctr in self.ids:
            subprocess.run(["buildah", "rm", ctr], capture_output=True, check=False)


def _entrypoint(image: str) -> list[str]:
    entry = inspect(image)["OCIv1"]["config"].get("Entrypoint") or []
    if not entry:
        raise Broken(f"{image} has no ENTRYPOINT")
    return list(entry)


def _run_cmd(ctr: str, env: dict[str, str], cmd: Sequence[str], user: str = "") -> list[str]:
    args = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
    if user:
        args += ["--user", user]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    return [*args, ctr, "--", *cmd]


def startup(ctx: Any, world_env: dict[str, str], flags: list[str], probe: Any) -> dict[str, Any]:
    """Start-up samples (wall, first call) for the gate, bare boto3, /bin/true, bare python."""
    from measures import FLOOR_SCRIPT

    env = {
        **world_env,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    venv_python = "/opt/soc2gate/bin/python"
    first: dict[str, Samples] = {}
    with Containers() as made:
        ctr = made.make(IMAGE)
        bare = made.make(IMAGE)
        nopyc = made.make(IMAGE)
        base = made.make(BASE)
        # Every __pycache__ (venv and stdlib) deleted in this container only.
        subprocess.run(
            _run_cmd(
                nopyc,
                {},
                [
                    "find",
                    "/",
                    "-xdev",
                    "-type",
                    "d",
                    "-name",
                    "__pycache__",
                    "-prune",
                    "-exec",
                    "rm",
                    "-rf",
                    "{}",
                    "+",
                ],
                user="0:0",
            ),
            capture_output=True,
            check=True,
            timeout=120,
        )
        stale = {IMAGE: stale_modules(ctr)}
        if BEFORE and _exists(BEFORE):
            stale[BEFORE] = stale_modules(made.make(BEFORE))
        mount = Path(_buildah("mount", ctr).strip())
        pyc = pyc_bytes(mount)
        _buildah("umount", ctr)
        entry = _entrypoint(IMAGE)
        gate = [*entry, "run", *flags]
        commands = {
            # the image's ENTRYPOINT as the image's USER (root: it drops to 1000 first)
            "gate": (_run_cmd(ctr, env, gate), ("is InService",)),
            "gate-no-pyc": (_run_cmd(nopyc, env, gate), ("is InService",)),
            "boto3": (
                _run_cmd(bare, env, [venv_python, "-I", "-c", FLOOR_SCRIPT], "1000:1000"),
                (),
            ),
            "true": (_run_cmd(base, {}, ["/bin/true"]), ()),
            "python": (_run_cmd(base, {}, ["python3", "-I", "-c", "pass"]), ()),
        }
        if BEFORE in stale:
            old = made.make(BEFORE)
            commands["gate-before"] = (_run_cmd(old, env, [*_entrypoint(BEFORE), "run", *flags]),
                                       ("is InService",))  # fmt: skip
        first = {name: Samples() for name in commands if name.startswith(("gate", "boto3"))}

        def runner(name: str) -> Any:
            cmd, contains = commands[name]

            def run() -> float:
                probe.reset()
                proc = expect_ok(run_proc(cmd, os.environ, timeout=300), name, contains=contains)
                if name in first:
                    if probe.first_call is None:
                        raise Broken(f"{name}: the world saw no call")
                    first[name].add(probe.first_call - proc.started)
                return proc.wall

            return run

        walls = interleaved({n: runner(n) for n in commands}, ctx.n(7, 1), warmup=1)
    for name in list(first):  # the warm-up's sample is not kept
        first[name].values = first[name].values[1:]
    return {"wall": walls, "first": first, "pyc": pyc, "stale": stale}


def build_from_scratch(ctx: Any) -> float:
    """Seconds to build the Dockerfile with no layer cache (the base is local: no pull)."""
    cert = "/etc/ssl/certs/ca-certificates.crt"
    args = ["build", "--isolation", "chroot", "--no-cache", "--build-arg", f"BASE_IMAGE={BASE}"]
    if os.path.isfile(cert):
        args += ["--volume", f"{cert}:{cert}:ro"]
    start = time.perf_counter()
    _buildah(*args, "-t", BUILT, "-f", str(ROOT / "Dockerfile"), str(ROOT), timeout=1800)
    return time.perf_counter() - start


def measure(ctx: Any) -> list[Any]:
    from measures import Row, gate_flags, ready_world

    why = skip_reason()
    if why:
        ctx.say(f"image: skipped: {why}")
        return [
            Row(
                "7",
                "container image: size, start-up, build",
                "-",
                "-",
                "-",
                "-",
                None,
                f"SKIPPED: {why}",
            )
        ]
    built = ""
    build_s = 0.0
    if not ctx.quick:
        ctx.say("image: building the Dockerfile with no cache (the per-job build's proxy) ...")
        build_s = build_from_scratch(ctx)
        built = f"{build_s:.0f} s"
    final, base = layers(IMAGE), layers(BASE)
    final_b, base_b = sum(s for s, _ in final), sum(s for s, _ in base)
    before_b = sum(s for s, _ in layers(BEFORE)) if BEFORE and _exists(BEFORE) else 0
    packed: dict[str, tuple[int, float]] = {}
    if not ctx.quick:
        names = (IMAGE, BASE, BEFORE) if before_b else (IMAGE, BASE)
        packed = {name: packed_and_pulled(name, ctx.tmp) for name in names}
    with ready_world() as (world, probe, _env):
        runs = startup(ctx, dict(world.env()), gate_flags(world), probe)
    walls, first, pyc, stale = runs["wall"], runs["first"], runs["pyc"], runs["stale"]
    ctx.raw["image"] = {
        "image": IMAGE,
        "base": BASE,
        "layers": final,
        "base_layers": base,
        "before_bytes": before_b,
        "compressed": packed,
        "pyc_bytes": pyc,
        "stale_modules": stale,
        "build_from_scratch_s": build_s,
        "wall": {k: v.values for k, v in walls.items()},
        "first_call": {k: v.values for k, v in first.items()},
    }
    per_layer = "; ".join(f"{s / MB:.1f} MB {what}" for s, what in final)
    size_note = f"layers of {IMAGE}: {per_layer}"
    if before_b:
        size_note += f"; {BEFORE}: {before_b / MB:.1f} MB"
        if BEFORE in packed:
            size_note += f" ({packed[BEFORE][0] / MB:.1f} MB gzip, pull {packed[BEFORE][1]:.1f} s)"
    if packed:
        size_note += (
            f"; gzip (what a job pulls): {packed[IMAGE][0] / MB:.1f} MB, base "
            f"{packed[BASE][0] / MB:.1f} MB"
        )
    gate, bare, nopyc = first["gate"], first["boto3"], first["gate-no-pyc"]
    ratio = gate.median / bare.median
    rows = [
        Row(
            "7a",
            "image size (uncompressed): final image vs its base",
            f"base {BASE}: {base_b / MB:.1f} MB",
            f"{final_b / MB:.1f} MB",
            f"{final_b / base_b:.2f}x ({(final_b - base_b) / MB:+.1f} MB)",
            "only what runs",
            None,
            size_note,
        ),
        Row(
            "7b",
            "container start to first AWS call: the image's ENTRYPOINT `run` vs bare boto3 "
            "in the same image (`buildah run`)",
            f"bare boto3: {bare.spread(digits=3)}",
            gate.spread(digits=3),
            _x(ratio),
            "<= 1.25x bare boto3",
            ratio <= 1.25,
            (
                f"{BEFORE}: {first['gate-before'].spread(digits=3)}; "
                if "gate-before" in first
                else ""
            )
            + f"whole run: gate {walls['gate'].median:.2f} s; container start alone (`/bin/true` "
            f"in the base): {walls['true'].median:.3f} s; base `python3 -c pass`: "
            f"{walls['python'].median:.3f} s",
        ),
        Row(
            "7c",
            "precompiled bytecode: first call with every __pycache__ deleted vs kept",
            f"no .pyc: {nopyc.spread(digits=3)}",
            f"kept: {gate.spread(digits=3)}",
            f"{nopyc.median - gate.median:+.3f} s per start without",
            "keep if faster; none stale",
            gate.median < nopyc.median and stale[IMAGE][0] == 0,
            f".pyc in the image: venv {pyc['venv'] / MB:.1f} MB, standard library "
            f"{pyc['stdlib'] / MB:.1f} MB (uncompressed); modules the gate imports whose .pyc "
            "is not used (recompiled at every start): "
            + ", ".join(f"{name} {n} of {of}" for name, (n, of) in stale.items()),
        ),
    ]
    if built:
        (image_gz, image_pull), (base_gz, base_pull) = packed[IMAGE], packed[BASE]
        per_job = base_pull + build_s
        rows.append(
            Row(
                "7d",
                "per-job cost: the current action (pull the base, build the Dockerfile with no "
                "cache) vs a published image (pull it)",
                f"build: base pull {base_pull:.1f} s ({base_gz / MB:.0f} MB gzip) + build "
                f"{built} = {per_job:.0f} s",
                f"pull: {image_pull:.1f} s ({image_gz / MB:.0f} MB gzip)",
                f"{per_job / image_pull:.1f}x",
                "-",
                None,
                "pulls are from a local OCI layout into an empty store (decompress + unpack, no "
                "network); the build's pip downloads go through this machine's caching proxy. "
                "On a runner add the network for both, PyPI's for the build",
            )
        )
    return rows


def _x(value: float) -> str:
    return f"{value:.2f}x"
