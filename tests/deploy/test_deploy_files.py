"""The files under deploy/ agree with each other and with what the topology test runs (docker and systemd cannot
run here; these checks keep them from drifting)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.nginx import main as render_main
from deploy.nginx import render_site, standalone_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_compose_nginx_site_is_the_template_rendered_for_its_two_app_servers() -> None:
    assert (DEPLOY / "nginx" / "compose.conf").read_text() == render_site(["app1:8501", "app2:8501"], listen="80")


def test_the_site_upgrades_the_websocket_sticks_by_cookie_and_forwards_the_client() -> None:
    site = render_site(["10.0.0.1:8501", "10.0.0.2:8501"])
    assert "hash $followup_route consistent;" in site
    assert site.count("server 10.0.0.") == 2
    for header in (
        "Upgrade $http_upgrade",
        "Connection $followup_connection",
        "X-Forwarded-Proto $scheme",
        "X-Forwarded-For $proxy_add_x_forwarded_for",
        "Host $http_host",
    ):
        assert f"proxy_set_header {header};" in site
    # nginx drops every inherited proxy_set_header in a location that sets one of its own: none may.
    for location in re.findall(r"location [^{]+\{([^}]*)\}", site):
        assert "proxy_set_header" not in location
    assert "location /_stcore/stream" in site and "client_max_body_size" in site


def test_https_needs_a_certificate_and_redirects_plain_http() -> None:
    with pytest.raises(ValueError):
        render_site(["a:1"], https=True)
    site = render_site(["a:1"], listen="443", https=True, ssl_certificate="/c.pem", ssl_certificate_key="/k.pem")
    assert "listen 443 ssl" in site and "return 301 https://" in site and "Secure" in site
    assert render_main(["--server", "a:1", "--https"]) == 2


def test_nginx_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is missing (Debian package `nginx`)")
    conf = tmp_path / "nginx.conf"
    conf.write_text(standalone_config(render_site(["127.0.0.1:1", "127.0.0.1:2"], listen="127.0.0.1:8"), tmp_path))
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr


def test_compose_runs_postgresql_two_app_servers_without_a_worker_inside_one_worker_and_nginx() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"db", "app1", "app2", "worker", "nginx"}
    for name in ("app1", "app2", "worker"):
        env = services[name]["environment"]
        assert env["FOLLOWUP_EMBEDDED_WORKER"] == "0" and env["FOLLOWUP_SERVER_NAME"] == name
        assert env["FOLLOWUP_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "STREAMLIT_SERVER_COOKIE_SECRET" in env
    assert services["worker"]["command"] == ["python", "manage.py", "worker"]
    assert "./nginx/compose.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]


def test_the_image_runs_as_a_user_and_checks_healthz() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim$", dockerfile, re.M)
    assert re.search(r"^USER followup$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile


def test_the_systemd_units_start_app_servers_per_port_without_a_worker_and_the_worker_apart() -> None:
    app = (DEPLOY / "systemd" / "followup-app@.service").read_text()
    assert "Environment=FOLLOWUP_EMBEDDED_WORKER=0" in app and "--server.port %i" in app
    assert "--server.address 127.0.0.1" in app and "User=followup" in app
    worker = (DEPLOY / "systemd" / "followup-worker.service").read_text()
    assert "manage.py worker" in worker and "User=followup" in worker
