"""Parse worker processes: the same result as parsing in-process, errors intact, deaths survived."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from crawler.config import ParseSettings
from crawler.errors import (
    Blocked,
    ConfigError,
    ConfigProblem,
    FetchError,
    ParseError,
    SelectorMatchedNothing,
    SoftErrorPage,
)
from crawler.workers import pool as workers
from crawler.workers.pool import ParsePool
from crawler.workers.prepare import Prepared, prepare_article
from storage.codecs import CODECS
from tests.crawler.parse.support import real_page, source_for, source_url

ARTICLES = [
    "china-en-article-1",
    "china-en-article-2",
    "china-zh-article-1",
    "china-zh-article-2",
    "china-zh-article-3",
    "china-zh-article-4",
    "wang-yi-blinken-2021",
]


def _prepare_all(pool: ParsePool, names: list[str]) -> list[Prepared]:
    async def go() -> list[Prepared]:
        async with pool:
            return list(
                await asyncio.gather(
                    *(pool.prepare(real_page(n), source_for(n), None, source_url(n)) for n in names)
                )
            )

    return asyncio.run(go())


def test_a_worker_prepares_exactly_what_this_process_does() -> None:
    """Every real article page: same article, fingerprint and packed body from a worker process."""
    names = ARTICLES * 3  # more pages than fit in flight, so they queue and interleave
    pool = ParsePool(1)
    got = _prepare_all(pool, names)
    want = [prepare_article(real_page(n), source_for(n), None, source_url(n)) for n in names]
    assert got == want
    assert pool.restarts == 0
    for prepared, name in zip(got, names, strict=True):
        assert prepared.packed is not None  # a worker packs the body; in-process, storage does
        assert CODECS[prepared.packed.codec][1](prepared.packed.data) == real_page(name).raw.body


def test_two_workers_share_the_pages() -> None:
    """With two workers every page is answered, each by the right article."""
    got = _prepare_all(ParsePool(2), ARTICLES * 2)
    assert [p.article.url for p in got] == [source_url(n) for n in ARTICLES * 2]


def test_zero_workers_parse_in_process_and_start_nothing() -> None:
    """`workers: 0` parses here: no process is ever started."""
    pool = ParsePool(0)
    got = _prepare_all(pool, ARTICLES[:2])
    assert pool.in_process and not pool._workers
    assert [p.article.title for p in got] == [
        prepare_article(real_page(n), source_for(n), None, source_url(n)).article.title
        for n in ARTICLES[:2]
    ]


def test_a_pool_starts_its_workers_only_when_there_is_a_page_to_parse() -> None:
    """Entering a pool starts nothing (a crawl with nothing new pays for no worker); `warm`
    starts the workers in the background, and closing waits for one still starting."""

    async def go() -> tuple[int, int]:
        async with ParsePool(1) as pool:
            await asyncio.sleep(0.05)
            idle = len(pool._workers)
            pool.warm()
            pool.warm()  # once is enough
            assert pool._warming is not None
            await pool._warming
            return idle, len(pool._workers)

    assert asyncio.run(go()) == (0, 1)


def test_parse_errors_come_back_as_the_same_exception() -> None:
    """A soft error page and a selector that matches nothing raise what they raise in-process."""
    error_page = real_page("china-error-1")
    article = real_page("china-en-article-1")
    no_body = source_for("china-en-article-1", article={"title": "h2.title", "body": "div.nowhere"})

    async def go() -> tuple[BaseException, BaseException]:
        async with ParsePool(1) as pool:
            results = await asyncio.gather(
                pool.prepare(error_page, source_for("china-error-1"), None, "https://x/e"),
                pool.prepare(article, no_body, None, "https://x/a"),
                return_exceptions=True,
            )
        assert isinstance(results[0], BaseException) and isinstance(results[1], BaseException)
        return results[0], results[1]

    soft, nothing = asyncio.run(go())
    with pytest.raises(SoftErrorPage) as local:
        prepare_article(error_page, source_for("china-error-1"), None, "https://x/e")
    assert type(soft) is SoftErrorPage
    assert (soft.url, soft.reason, soft.blocked) == (
        local.value.url,
        local.value.reason,
        local.value.blocked,
    )
    assert isinstance(nothing, SelectorMatchedNothing)
    assert (nothing.field, nothing.selector) == ("article.body", "div.nowhere")


def test_a_killed_worker_loses_no_page_and_is_replaced() -> None:
    """Kill the worker with pages in flight: each page is still prepared, and a new worker starts."""
    names = ARTICLES * 4

    async def go() -> tuple[list[Prepared], int, int, int]:
        async with ParsePool(1) as pool:
            await pool.prepare(real_page(names[0]), source_for(names[0]), None, "https://x/0")
            first = pool._workers[0]
            tasks = [
                asyncio.create_task(pool.prepare(real_page(n), source_for(n), None, source_url(n)))
                for n in names
            ]
            await asyncio.sleep(0)  # let some pages go out
            first.kill()
            got = await asyncio.gather(*tasks)
            again = await pool.prepare(
                real_page(names[1]), source_for(names[1]), None, "https://x/1"
            )
            assert again.article.title
            second = pool._workers[0].pid
            return got, first.pid, second, pool.restarts

    got, first_pid, second_pid, restarts = asyncio.run(go())
    assert [p.article.url for p in got] == [source_url(n) for n in names]
    assert all(p.article.body_text for p in got)
    assert second_pid != first_pid
    assert restarts == 1


def test_closing_the_pool_ends_its_processes() -> None:
    """After `async with` every worker process has exited."""

    async def go() -> list[int | None]:
        pool = ParsePool(2)
        async with pool:
            await asyncio.gather(
                *(pool.prepare(real_page(n), source_for(n), None, source_url(n)) for n in ARTICLES)
            )
            procs = list(pool._workers)
        assert len(procs) == 2
        return [p.returncode for p in procs]

    assert all(code is not None for code in asyncio.run(go()))


def test_auto_is_one_worker_per_core_beyond_the_first() -> None:
    """`auto`: cores - 1 workers (none on one core), at most 4; explicit counts are kept."""
    assert [workers.auto_workers(n) for n in (1, 2, 3, 4, 8, 64)] == [0, 0, 1, 2, 4, 4]
    assert ParsePool.from_settings(ParseSettings()).size == workers.auto_workers()
    assert ParsePool.from_settings(ParseSettings(workers=0)).size == 0
    assert ParsePool.from_settings(ParseSettings(workers=3)).size == 3


@pytest.mark.parametrize(
    "error",
    [
        SoftErrorPage("https://x/1", "a bot wall", blocked=True),
        SelectorMatchedNothing("https://x/2", "article.body", "div.content"),
        Blocked("https://x/3", 403, "HTTP 403 Forbidden: the site refuses us"),
        FetchError("https://x/4", "could not connect"),
        ConfigError([ConfigProblem("a.yaml", 3, "sources[0].url", "not a URL")]),
    ],
)
def test_errors_survive_pickling(error: Exception) -> None:
    """Every error class crosses a process boundary with its message and attributes."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_a_page_over_the_time_limit_fails_alone_and_the_worker_is_replaced() -> None:
    """A page not answered in time is a ParseError naming it; the next page gets a new worker."""
    name = ARTICLES[0]

    async def go() -> tuple[BaseException | Prepared, int, int]:
        async with ParsePool(1, page_timeout=0.000001) as pool:
            slow = await asyncio.gather(
                pool.prepare(real_page(name), source_for(name), None, "https://x/slow"),
                return_exceptions=True,
            )
            first = pool._workers[0].pid
            pool.page_timeout = 60.0
            again = await pool.prepare(real_page(name), source_for(name), None, "https://x/ok")
            assert again.article.title
            return slow[0], first, pool._workers[0].pid

    error, first_pid, second_pid = asyncio.run(go())
    assert isinstance(error, ParseError) and "did not finish" in str(error)
    assert error.url == "https://x/slow"
    assert second_pid != first_pid
