"""The cost of the silent-edit rule: reading a page's markers, and judging one changed version.

    .venv/bin/python benchmarks/edit_kind_bench.py [--n 2000] [--smoke]

Prints µs per call of `crawler.parse.markers` on a real China MFA page (the page's meta and
JSON-LD scan plus the body's notice scan) and of `storage.versions.edit_kind.judge_edit` (the
comparison made when a changed version is stored). Single process, no database: the rule adds
three columns to the version INSERT, which storage_bench measures with everything else.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace

from selectolax.lexbor import LexborHTMLParser

from crawler.parse.markers import article_markers, page_markers
from storage.model import Article, ArticleDate, DatePrecision, DateSource
from storage.versions.edit_kind import judge_edit
from storage.versions.rows import article_values

PAGE = (
    Path(__file__).parent.parent / "tests" / "fixtures" / "real-pages" / "china-zh-article-1.html"
)


def _per_call(fn: Callable[[], object], n: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="calls per measurement")
    parser.add_argument("--smoke", action="store_true", help="50 calls, for CI")
    args = parser.parse_args(argv)
    n = 50 if args.smoke else args.n
    html = PAGE.read_text(encoding="utf-8")
    tree = LexborHTMLParser(html)
    body = "\n\n".join(p.text() for p in tree.css("#News_Body_Txt_A p"))
    marks = article_markers(page_markers(tree), displayed="2020-06-30", body_text=body)
    from datetime import date

    day = ArticleDate(date(2020, 6, 30), DatePrecision.DAY, DateSource.PAGE)
    new = article_values(Article("s", "https://a/1", "T", body + "x", "", day, markers=marks))
    old = SimpleNamespace(
        **{**article_values(Article("s", "https://a/1", "T", body, "", day, markers=marks))}
    )
    parse_us = _per_call(lambda: LexborHTMLParser(html), n)
    page_us = _per_call(lambda: page_markers(tree), n)
    body_us = _per_call(lambda: article_markers((), displayed="2020-06-30", body_text=body), n)
    judge_us = _per_call(lambda: judge_edit(old, new), n * 10)  # type: ignore[arg-type]
    print(f"page parse (for scale)        {parse_us:8.1f} µs")
    print(f"page_markers (meta, JSON-LD)  {page_us:8.1f} µs per page")
    print(f"article_markers (notices)     {body_us:8.1f} µs per page")
    print(f"judge_edit                    {judge_us:8.1f} µs per changed version")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
