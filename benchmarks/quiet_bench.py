"""Quiet-source benchmark: the cost per poll of the `quiet` rule (issue 20, part 3).

After every crawl of a healthy source, `mfawatch.health.record_health` asks
`storage.activity.quiet_verdict`: two queries over the source's articles (first/last sighting,
then the rows of the last 9 weeks) and the rhythm model of `storage.rhythm` (168 buckets, plain
Python). Measured alone, on a SQLite file holding one source with `--years` of history at the
China MFA's pace (about 15 releases a week), so the aggregate over all its articles is counted:
    python benchmarks/quiet_bench.py              # 5 years of history, 200 polls
    python benchmarks/quiet_bench.py --smoke      # 1 year, 20 polls

Reports microseconds per poll: the model alone (`judge`), and the whole rule (queries + model).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from storage.activity import publication_history, quiet_verdict  # noqa: E402
from storage.engine import open_db  # noqa: E402
from storage.rhythm import judge  # noqa: E402
from storage.schema import ArticleRow, SourceRow  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
SLOTS = ((10, 5), (16, 40), (18, 20))


def history(years: int) -> list[datetime]:
    """Three releases per weekday in Beijing (none on weekends), for `years` years, ending now."""
    end = datetime.now(UTC).astimezone(ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for d in range(years * 365, 0, -1):
        day = end - timedelta(days=d)
        if day.weekday() < 5:
            out += [day.replace(hour=h, minute=m) for h, m in SLOTS]
    return out


def store(url: str, times: list[datetime]) -> None:
    db = open_db(url)
    with db.session() as s:
        s.execute(sa.insert(SourceRow).values(key="cn", name="China MFA", timezone="Asia/Shanghai"))
        rows = [
            {
                "source": "cn",
                "url": f"https://www.fmprc.gov.cn/eng/t{i}.html",
                "version": 1,
                "content_version": 1,
                "published_date": t.date(),
                "date_precision": "day",
                "first_seen_at": t + timedelta(minutes=7),
                "last_checked_at": t,
                "last_changed_at": t,
            }
            for i, t in enumerate(times)
        ]
        s.execute(sa.insert(ArticleRow), rows)
    db.dispose()


def per_call(fn: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    """Measure and print µs per poll."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--polls", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="a small, quick run (CI)")
    args = parser.parse_args()
    years, polls = (1, 20) if args.smoke else (args.years, args.polls)
    times = history(years)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'quiet.sqlite3'}"
        store(url, times)
        db = open_db(url)
        now = max(times) + timedelta(days=3)
        with db.session(readonly=True) as s:
            h = publication_history(s, "cn", ZONE)
            assert h.observed_since is not None and h.last_new is not None
            verdict = quiet_verdict(s, "cn", ZONE, now)

            def model() -> None:
                judge(
                    h.items,
                    observed_since=h.observed_since,
                    last_new=h.last_new,
                    now=now,
                    zone=ZONE,
                )  # type: ignore[arg-type]

            model_us = per_call(model, polls)

            def rule() -> None:
                quiet_verdict(s, "cn", ZONE, now)

            rule_us = per_call(rule, polls)
        db.dispose()
    print(
        f"history: {len(times)} articles over {years} year(s); {len(h.items)} in the rhythm window"
    )
    print(f"verdict 3 days after the last release: {verdict.reason}")
    print(f"model alone (judge):        {model_us:8.0f} µs per poll")
    print(f"whole rule (queries+model): {rule_us:8.0f} µs per poll")


if __name__ == "__main__":
    main()
