"""Render the nginx site for N app servers from deploy/nginx/followup.conf.j2.

    python -m deploy.nginx --server 127.0.0.1:8501 --server 127.0.0.1:8502 --server-name recruit.corp.example \\
        > /etc/nginx/sites-available/followup
    python -m deploy.nginx ... --https --certificate /etc/ssl/... --certificate-key /etc/ssl/private/...

The topology test renders the same template (wrapped by `standalone_config` into a whole nginx.conf for an
nginx of its own on free ports), so what is tested is what is deployed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

HERE = Path(__file__).resolve().parent
TEMPLATE = "followup.conf.j2"


def render_site(
    servers: list[str],
    *,
    listen: str = "80",
    server_name: str = "_",
    https: bool = False,
    http_listen: str = "80",
    ssl_certificate: str = "",
    ssl_certificate_key: str = "",
    fail_timeout: str = "10s",
) -> str:
    """The site (http-level `map`, `upstream` and `server` blocks) in front of `servers` (host:port each)."""
    if not servers:
        raise ValueError("at least one app server (host:port)")
    if https and not (ssl_certificate and ssl_certificate_key):
        raise ValueError("HTTPS needs a certificate and its key")
    env = Environment(loader=FileSystemLoader(HERE / "nginx"), undefined=StrictUndefined, keep_trailing_newline=True)
    return env.get_template(TEMPLATE).render(
        servers=servers,
        listen=listen,
        server_name=server_name,
        https=https,
        http_listen=http_listen,
        ssl_certificate=ssl_certificate,
        ssl_certificate_key=ssl_certificate_key,
        fail_timeout=fail_timeout,
    )


def standalone_config(site: str, prefix: Path) -> str:
    """A whole nginx.conf around `site` whose files all live under `prefix` (`nginx -p prefix -c file`), for an
    nginx run by a test or a trial next to the system's own."""
    for sub in ("logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""  # workers must reach prefix/
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
{site}
}}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the nginx site for the app servers.")
    parser.add_argument("--server", action="append", required=True, help="an app server, host:port (repeat)")
    parser.add_argument("--listen", default=None, help="address or port to listen on (80, or 443 with --https)")
    parser.add_argument("--server-name", default="_")
    parser.add_argument("--https", action="store_true", help="TLS on --listen, and a redirect from port 80")
    parser.add_argument("--certificate", default="")
    parser.add_argument("--certificate-key", default="")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(
            render_site(
                args.server,
                listen=args.listen or ("443" if args.https else "80"),
                server_name=args.server_name,
                https=args.https,
                ssl_certificate=args.certificate,
                ssl_certificate_key=args.certificate_key,
            )
        )
    except ValueError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
