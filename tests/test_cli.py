"""The command line as `make run` uses it: migrate, seed once, serve, answer the probes."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-m", "makesense_api"]


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - fixed command line
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MAKESENSE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        "MAKESENSE_LOG_LEVEL": "WARNING",
    }


def test_migrate_seed_once_and_serve(env: dict[str, str]) -> None:
    assert "database at revision" in run_cli(env, "migrate")
    assert "demo data loaded" in run_cli(env, "seed", "--demo", "--if-empty")
    assert "already has data" in run_cli(env, "seed", "--demo", "--if-empty")

    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - fixed command line
        [*CLI, "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None, "server did not start"
        assert ready.status_code == 200, ready.text
        assert httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code == 200
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status reports it.
    assert server.returncode in (0, -signal.SIGTERM), stderr.decode()[-2000:]
    assert b"Traceback" not in stderr


def test_clients_create_prints_credentials_once(env: dict[str, str]) -> None:
    run_cli(env, "migrate")
    run_cli(env, "seed", "--demo", "--if-empty")
    out = run_cli(
        env, "clients", "create", "--owner", "chapter:paris", "--name", "Paris site",
        "--scope", "events:read", "--grant", "authorization_code",
        "--redirect-uri", "https://paris.example.org/callback",
    )
    assert out.startswith("client_id: ")
    assert "client_secret: " in out
    failed = subprocess.run(  # noqa: S603 - fixed command line
        [*CLI, "clients", "create", "--owner", "chapter:nowhere", "--name", "x",
         "--scope", "events:read", "--grant", "client_credentials"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert failed.returncode == 2
    assert "not found" in failed.stderr
    assert "Traceback" not in failed.stderr
