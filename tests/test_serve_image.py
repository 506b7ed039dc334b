"""The scoring image, built for real from a bake's Dockerfile and called over HTTP.

No Docker engine runs here and Docker Hub cannot be reached, so: the base image is made from
Debian's packages (debootstrap, the machine's own Debian mirror) and given to the build as
BASE_IMAGE; podman builds the real Dockerfile (`--isolation=chroot`, its own storage in a
temporary folder); `podman run` cannot start a container on these machines (crun cannot set
rlimits), so the image's files are exported and its command run under `chroot`, as the
image's user, with its environment and working directory. .ci/run installs podman and
debootstrap; elsewhere the test is skipped when they are missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
from pathlib import Path

import pytest

from .conftest import Trained, run, shared_env
from .test_promote import free_port, promote
from .test_serve import Server

pytestmark = pytest.mark.slow
TOOLS = ("podman", "debootstrap", "chroot")
SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"  # where Debian puts debootstrap and chroot


def tool(name: str) -> str:
    return shutil.which(name, path=f"{os.environ['PATH']}:{SBIN}") or name


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (its first `URIs:` or `deb` line)."""
    for path in [*Path("/etc/apt/sources.list.d").glob("*.sources"), Path("/etc/apt/sources.list")]:
        text = path.read_text() if path.is_file() else ""
        found = re.search(r"^URIs:\s*(\S+)|^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M)
        if found:
            return found.group(1) or found.group(2)
    pytest.fail("no Debian mirror in /etc/apt: cannot make a base image")


def podman(storage: list[str], *args: str, **kwargs: object) -> subprocess.CompletedProcess:
    done = subprocess.run([*storage, *args], capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{' '.join(args[:2])}: {done.stderr[-3000:]}"
    return done


@pytest.fixture
def storage(tmp_path: Path):  # type: ignore[no-untyped-def]
    """podman with storage of its own (vfs: no overlay mounts), removed afterwards."""
    missing = [name for name in TOOLS if tool(name) == name]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} not installed: .ci/run installs them")
        pytest.skip(f"needs {missing} (Debian packages podman and debootstrap)")
    runroot = Path(tempfile.mkdtemp(prefix="podman-", dir="/tmp"))  # podman wants it short
    yield ["podman", "--root", str(tmp_path / "podman"), "--runroot", str(runroot),
           "--storage-driver", "vfs"]  # fmt: skip
    shutil.rmtree(tmp_path / "podman", ignore_errors=True)  # vfs copies every layer whole
    shutil.rmtree(runroot, ignore_errors=True)


def base_image(storage: list[str], folder: Path) -> str:
    """A Debian bookworm image with python3 (3.11, as the bake's .python-version asks)."""
    root = folder / "rootfs"
    subprocess.run(
        [tool("debootstrap"), "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
         "bookworm", str(root), debian_mirror()],
        check=True, capture_output=True,
    )  # fmt: skip
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    podman(storage, "import", "-", "localhost/base:bookworm", stdin=tar.stdout)
    tar.wait()
    shutil.rmtree(root)
    return "localhost/base:bookworm"


def test_the_scoring_image_holds_the_champion_and_serves_it(
    trained_bake: Trained, tmp_path: Path, storage: list[str]
) -> None:
    project = trained_bake("classification", tmp_path / "bake")
    env = shared_env(project)
    assert promote(project, env)["version"] == "1"
    # What the promote workflow hands the image job: the champion's file and its version.
    run(["python", "-m", "customer_churn", "champions", "--out", "models"], project, env=env)
    assert json.loads((project / "models/champions.json").read_text()) == {"customer-churn": "1"}
    (project / "secret.txt").write_text("never in the image")  # .dockerignore keeps it out

    base = base_image(storage, tmp_path)
    # --layers=false: vfs copies the whole file tree for each layer kept (2 min instead of 30 s)
    build = ["build", "--isolation=chroot", "--layers=false", "--format", "docker",
             "-t", "scoring:test", "--build-arg", f"BASE_IMAGE={base}",
             "--build-arg", "GIT_COMMIT=abc123"]  # fmt: skip
    bundle = (  # the CA bundle this machine trusts, for a TLS-inspecting proxy if any
        os.environ.get("SSL_CERT_FILE")
        or os.environ.get("PIP_CERT")
        or ssl.get_default_verify_paths().openssl_cafile
    )
    if bundle and Path(bundle).is_file():
        build += ["--secret", f"id=ca,src={bundle}"]
    podman(storage, *build, str(project))
    image = json.loads(podman(storage, "image", "inspect", "scoring:test").stdout)[0]
    config = image["Config"]
    assert config["User"] == "10001" and "/ready" in " ".join(image["Healthcheck"]["Test"])
    assert config["Labels"]["org.opencontainers.image.revision"] == "abc123"

    files = tmp_path / "image"
    files.mkdir()
    container = podman(storage, "create", "scoring:test").stdout.strip()
    exported = subprocess.Popen([*storage, "export", container], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(files)], stdin=exported.stdout, check=True)
    assert exported.wait() == 0
    site = next((files / "opt/venv/lib").glob("python3*/site-packages"))
    assert (site / "fastapi").is_dir() and (site / "sklearn").is_dir()
    for absent in ("mlflow", "dvc", "great_expectations", "uv", "pip"):
        assert not (site / absent).exists(), f"{absent} is in the image"
    for absent in ("opt/uv", "build", "app/secret.txt", "app/data", "root/.cache"):
        assert not (files / absent).exists(), f"/{absent} is in the image"

    # The image's own command, as its user, in its working directory, with its environment;
    # only the port changes (and 0.0.0.0 becomes 127.0.0.1: tests listen on loopback only).
    port = free_port()
    command = [str(port) if arg == "8000" else "127.0.0.1" if arg == "0.0.0.0" else arg
               for arg in config["Cmd"]]  # fmt: skip
    script = f"cd {config['WorkingDir']} && exec " + " ".join(command)
    chrooted = [tool("chroot"), f"--userspec={config['User']}:{config['User']}", str(files),
                "/usr/bin/env", "-i", *config["Env"], "/bin/sh", "-c", script]  # fmt: skip
    server = Server(chrooted, port, tmp_path / "image.log")
    try:
        status, body = server.call("/predict", {"tenure_months": 12, "monthly_charges": 70.0,
            "total_charges": 840.0, "support_calls": 3, "data_usage_gb": 10.0,
            "contract": "month-to-month", "payment_method": "electronic-check",
            "internet_service": "fiber", "region": "north"})  # fmt: skip
    finally:
        server.stop()
    assert status == 200, body
    assert body["predictions"][0]["model"] == "customer-churn"
    assert body["predictions"][0]["version"] == "1"  # from champions.json
