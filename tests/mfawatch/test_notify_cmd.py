"""`mfawatch notify --test [CHANNEL]` as a user runs it (a subprocess) against a real SMTP server
on 127.0.0.1 and a channel whose port nothing listens on."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.digest.test_notify import Inbox

FIXTURES = Path(__file__).parents[1] / "fixtures" / "configs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    """A real SMTP server on 127.0.0.1 and an apprise URL (with a password to mask) for it."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"mailto://127.0.0.1:{port}?from=mfawatch@example.org&to=desk@example.org"
    finally:
        controller.stop()


def _config(tmp_path: Path, digest_url: str, alert_url: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        (FIXTURES / "good-minimal.yaml").read_text()
        + f'digest: {{cron: "0 7 * * *", channels: ["{digest_url}"]}}\n'
        + "alerts:\n"
        + f'  - {{name: taiwan, keywords: [Taiwan], channels: ["{alert_url}", "{digest_url}"]}}\n'
        + "  - {name: quiet, keywords: [quiet]}\n"
    )
    return path


def notify(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MFAWATCH_")}
    cmd = [sys.executable, "-m", "mfawatch", "--config", str(config), "notify", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def test_each_channel_is_tried_once_and_a_failure_is_exit_1(
    tmp_path: Path, smtp: tuple[Inbox, str], refused_port: int
) -> None:
    """Every configured channel gets one test message; the dead one is named, exit 1."""
    inbox, good = smtp
    dead = f"mailto://user:hunter2@127.0.0.1:{refused_port}?from=a@example.org&to=b@example.org"
    config = _config(tmp_path, good, dead)
    run = notify(config, "--test")
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert any(
        line.startswith("ok      digest, alert taiwan: mailto://127.0.0.1") for line in lines
    )
    assert any(line.startswith("FAILED  alert taiwan: mailto://***@127.0.0.1") for line in lines)
    assert "hunter2" not in run.stdout + run.stderr and "Traceback" not in run.stderr
    assert lines[-1] == "notify: 1 of 2 channel(s) worked"
    assert len(inbox.messages) == 1  # a URL used twice gets one message
    assert inbox.messages[0]["Subject"] == "mfawatch test message"

    only = notify(config, "--test", "digest")
    assert only.returncode == 0, only.stdout + only.stderr
    assert only.stdout.splitlines()[-1] == "notify: 1 of 1 channel(s) worked"
    assert len(inbox.messages) == 2

    alert = notify(config, "--test", "taiwan")
    assert alert.returncode == 1 and "notify: 1 of 2 channel(s) worked" in alert.stdout


def test_nothing_to_test_is_exit_2(tmp_path: Path) -> None:
    """An unknown CHANNEL, a config without channels, or no --test: exit 2 with a reason."""
    bare = tmp_path / "bare.yaml"
    bare.write_text((FIXTURES / "good-minimal.yaml").read_text())
    none = notify(bare, "--test")
    assert none.returncode == 2 and "configures no notification channels" in none.stderr
    config = _config(tmp_path, "json://127.0.0.1:9/x", "json://127.0.0.1:9/y")
    unknown = notify(config, "--test", "quiet")
    assert unknown.returncode == 2 and "channels: digest, alert taiwan" in unknown.stderr
    assert notify(config).returncode == 2
