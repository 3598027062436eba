"""Session-wide log scan: everything logged during the run is rendered as production renders
it (ops/logging.py) and searched for what must never be logged — tokens (`msk_…`), webhook
secrets (`whsec_…`), the passwords the tests use, full e-mail addresses. Any finding fails the
run at its end, naming the logger and the line.

Wired from tests/conftest.py (`pytest_configure` / `pytest_sessionfinish`).
"""

import logging
import re
from pathlib import Path

import pytest

from makesense_api.ops.logging import formatter

TOKEN = re.compile(r"\b(msk|whsec)_[A-Za-z0-9_\-+/=]{6,}")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
PASSWORD_ASSIGNMENT = re.compile(r"""(?i)\bpassword\w*\s*[=:]\s*["']([^"']{8,})["']""")
TESTS = Path(__file__).parent
MAX_FINDINGS = 20


def _passwords() -> set[str]:
    """The passwords the tests sign up and sign in with (`PASSWORD = "…"`, `password="…"`)."""
    found: set[str] = set()
    for path in TESTS.glob("*.py"):
        found.update(PASSWORD_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
    return found


class LogScan(logging.Handler):
    """Render each record with the service's formatter and keep what leaks."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(formatter())
        self.passwords = _passwords()
        self.findings: list[str] = []
        self.lines = 0

    def leaks(self, line: str) -> list[str]:
        found = [m.group(0) for m in TOKEN.finditer(line)]
        found += [m.group(0) for m in EMAIL.finditer(line)]
        found += [p for p in self.passwords if p in line]
        return found

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception as error:  # a record the service cannot render is a finding too
            line = f"unrenderable record {record.name}: {error!r}"
            self.findings.append(line)
            return
        self.lines += 1
        leaked = self.leaks(line)
        if leaked and len(self.findings) < MAX_FINDINGS:
            self.findings.append(f"{record.name}: {leaked} in {line[:400]}")


_scan = LogScan()


def install(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(_scan)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def finish(session: pytest.Session) -> None:
    if not _scan.findings:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.section("secrets or personal data in the logs", sep="=", red=True)
        for finding in _scan.findings:
            reporter.line(finding)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def scanner() -> LogScan:
    return _scan
