"""deploy/: the generated Serve config and KubeRay manifest are current, and the Grafana dashboard reads
the service's metrics by their contract names."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import ray
import yaml
from ray.serve.schema import ServeDeploySchema

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GENERATOR = ROOT / "scripts" / "deploy_manifests.py"
BUILDER = "deepseek_viz.serve.service:build_app"

#: The service's metrics (the contract), by kind; Ray exports each with the prefix ``ray_``.
HISTOGRAMS = {"dsv_request_seconds": {"call"}, "dsv_batch_size": set()}
COUNTERS = {
    "dsv_requests_total": {"call", "status"},
    "dsv_cache_hits_total": {"tier"},
    "dsv_cache_misses_total": {"tier"},
}
GAUGES = {"dsv_queue_depth": set(), "dsv_device_memory_bytes": {"device"}}
#: Tags Ray Serve adds to every application metric, and Prometheus's histogram bucket label.
RAY_TAGS = {"application", "deployment", "replica", "le"}


def committed_serve_config() -> tuple[str, dict[str, Any]]:
    text = (DEPLOY / "serve_config.yaml").read_text()
    return text, yaml.safe_load(text)


def test_the_committed_manifests_are_what_the_generator_writes(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("serve_config.yaml", "rayservice.yaml"):
        assert (tmp_path / name).read_text() == (DEPLOY / name).read_text(), (
            f"deploy/{name} is stale: run `PYTHONPATH=src python scripts/deploy_manifests.py`"
        )


def test_the_serve_config_is_valid_and_calls_the_builder() -> None:
    _, config = committed_serve_config()
    ServeDeploySchema.model_validate(config)
    (application,) = config["applications"]
    assert application["import_path"] == BUILDER
    assert "token" not in application["args"]  # the token comes from the environment, never a file
    assert [deployment["name"] for deployment in application["deployments"]] == ["ModelDeployment"]


def test_the_rayservice_runs_exactly_the_serve_config() -> None:
    text, _ = committed_serve_config()
    service, *others = yaml.safe_load_all((DEPLOY / "rayservice.yaml").read_text())
    assert service["kind"] == "RayService" and service["apiVersion"] == "ray.io/v1"
    body = text[text.index("proxy_location:") :]  # the config without its header comment
    assert service["spec"]["serveConfigV2"] == body
    cluster = service["spec"]["rayClusterConfig"]
    assert cluster["rayVersion"] == ray.__version__
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    for group in groups:
        (container,) = group["template"]["spec"]["containers"]
        (token,) = [variable for variable in container["env"] if variable["name"] == "DEEPSEEK_VIZ_TOKEN"]
        assert "secretKeyRef" in token["valueFrom"]
    redis_url = yaml.safe_load(body)["applications"][0]["args"]["redis"]
    redis_host = redis_url.split("//")[1].split(":")[0]
    assert {(document["kind"], document["metadata"]["name"]) for document in others} == {
        ("Deployment", redis_host),
        ("Service", redis_host),
    }


def test_the_dockerfile_installs_the_serve_extra_and_runs_the_service() -> None:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert any(line.startswith("FROM python:3.11-slim") for line in instructions)
    assert "RUN pip install torch==2.13.0" in instructions
    assert not any("--index-url" in line for line in instructions)
    assert any(line.startswith("RUN pip install") and ".[serve]" in line for line in instructions)
    (command,) = [line for line in instructions if line.startswith("CMD ")]
    assert json.loads(command[4:])[:4] == ["deepseek-viz", "serve", "--host", "0.0.0.0"]


def metric_names(expression: str) -> set[str]:
    """The ``ray_…`` series an expression reads, with histograms' ``_bucket/_sum/_count`` kept."""
    return set(re.findall(r"\bray_[a-z0-9_]+", expression))


def contract_metric(series: str) -> tuple[str, set[str]] | None:
    """The contract metric a series belongs to, and its tags; None when it is none of them."""
    name = series.removeprefix("ray_")
    for histogram, tags in HISTOGRAMS.items():
        if name in (f"{histogram}_bucket", f"{histogram}_sum", f"{histogram}_count"):
            return histogram, tags
    tags_of = {**COUNTERS, **GAUGES}
    return (name, tags_of[name]) if name in tags_of else None


def test_every_dashboard_panel_reads_contract_metrics_by_their_tags() -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    seen: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            expression = target["expr"]
            series = metric_names(expression)
            assert series, f"panel {panel['title']!r}: {expression!r} reads no ray_ metric"
            tags = set(RAY_TAGS)
            for name in series:
                found = contract_metric(name)
                assert found, f"panel {panel['title']!r} reads {name}, which is no metric of the contract"
                seen.add(found[0])
                tags |= found[1]
            for grouping in re.findall(r"\bby \(([^)]*)\)", expression):
                labels = {label.strip() for label in grouping.split(",")}
                assert labels <= tags, f"panel {panel['title']!r} groups by unknown tags {labels - tags}"
    assert seen == set(HISTOGRAMS) | set(COUNTERS) | set(GAUGES)
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in ("latency", "requests per second", "queue", "batch", "cache hit rate", "device memory"):
        assert topic in titles
