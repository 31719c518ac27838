"""`mfawatch notify --test [CHANNEL]`: send a test message through the configured channels.

The channels are the apprise URLs of the config: the scheduled digest's (`digest: channels:`)
and each watchlist's (`alerts: - channels:`). Each URL gets one message, however many groups
use it, and one line says whether it was accepted (URLs shown with their secrets masked).
CHANNEL narrows the test to `digest`, one alert's name, or one apprise URL (which need not be
in the config). Exit 0 when every channel worked, 1 when one failed, 2 when there is nothing to
test or CHANNEL names nothing.
"""

from __future__ import annotations

import sys

import click

from mfawatch.app import App
from mfawatch.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE, handle_errors
from mfawatch.terminal import echo


def configured_channels(app: App) -> dict[str, list[str]]:
    """Each channel URL of the config and the groups that use it (`digest`, `alert NAME`)."""
    settings = app.settings
    found: dict[str, list[str]] = {}
    if settings.digest is not None:
        for url in settings.digest.channels:
            found.setdefault(url, []).append("digest")
    for rule in settings.alerts:
        for url in rule.channels:
            found.setdefault(url, []).append(f"alert {rule.name}")
    return found


def _select(found: dict[str, list[str]], channel: str) -> dict[str, list[str]]:
    if "://" in channel:
        return {channel: found.get(channel, ["given on the command line"])}
    name = channel.removeprefix("alert ").removeprefix("alert:")
    wanted = "digest" if channel == "digest" else f"alert {name}"
    return {url: groups for url, groups in found.items() if wanted in groups}


@click.command()
@click.option("--test", "test", is_flag=True, help="Send a test message through each channel.")
@click.argument("channel", required=False)
@click.pass_obj
@handle_errors
def notify(app: App, test: bool, channel: str | None) -> None:
    """Send a test message through each configured channel (or CHANNEL) and say which worked."""
    from digest._text import one_line
    from digest.notify import mask, send_test

    if not test:
        raise click.UsageError("notify needs --test (scheduled sending is `mfawatch run`'s job)")
    found = configured_channels(app)
    chosen = _select(found, channel) if channel else found
    if not chosen:
        names = ["digest"] if app.settings.digest and app.settings.digest.channels else []
        names += [f"alert {r.name}" for r in app.settings.alerts if r.channels]
        if channel:
            valid = ", ".join(names) or "none"
            echo(
                f"mfawatch: no channel {one_line(channel)!r} in {app.config_path} "
                f"(channels: {valid}, or an apprise URL)",
                err=True,
            )
        else:
            echo(
                f"mfawatch: {app.config_path} configures no notification channels "
                "(`digest: channels:` or an alert's `channels:`)",
                err=True,
            )
        sys.exit(EXIT_USAGE)
    failed = 0
    for url, groups in chosen.items():
        reason = send_test(url)
        where = one_line(f"{', '.join(groups)}: {mask(url)}")
        if reason is None:
            echo(f"ok      {where}")
        else:
            failed += 1
            echo(f"FAILED  {where}: {one_line(reason)}")
    echo(f"notify: {len(chosen) - failed} of {len(chosen)} channel(s) worked")
    sys.exit(EXIT_FAILED if failed else EXIT_OK)
