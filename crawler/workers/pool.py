"""Parse worker processes: `prepare_article` run beside the event loop, so a crawl uses every core.

The crawler's own process fetches and stores on one event loop; parsing a page is pure CPU work
that would hold that same core. `ParsePool(n)` starts n workers (`python -m crawler.workers.pool`)
when a crawl has a first article to fetch (`warm`), or on first use, and talks to each over its
stdin and stdout: one frame per page (`crawler.workers.frames`), answered in order. Each page goes
to the worker with the fewest pages in flight, and at most `IN_FLIGHT` wait per worker: the others
wait here, not in a growing pipe buffer. A source is sent to a worker once, then named by a number.
The worker packs the raw body too (`prepare_article`), so the crawler's core is left with fetching
and storing.

- Errors raised while parsing (a soft error page, a selector that matched nothing) come back as
  the same exception; an unexpected one carries the worker's traceback as a note.
- A worker that dies (killed, out of memory) costs no page: what it had in flight is parsed in
  this process and a new worker takes its place. After `MAX_RESTARTS` deaths the pool stops
  starting workers and parses everything in this process.
- A page that a worker has not answered within `page_timeout` (a pathological page sending the
  parser into a loop) fails with a `ParseError` and its worker is replaced; that page is not
  retried in-process, where it would stall the crawler itself.
- With 0 workers (a one-core machine, or `parse: {workers: 0}`) nothing is started at all.

Frames carry pickles between two processes of the same program; nothing else writes to them.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pickle
import signal
import subprocess
import sys
import traceback
from collections import deque
from pathlib import Path
from typing import Any, BinaryIO, cast

from crawler.config import ParseSettings, Source
from crawler.errors import ParseError
from crawler.model import ListingItem, Page
from crawler.parse.charset import with_text
from crawler.workers import frames
from crawler.workers.prepare import Prepared, prepare_article

log = logging.getLogger(__name__)

MAX_RESTARTS = 5
# Pages sent to one worker and not answered yet. The event loop reads answers only between its
# other callbacks; with 3 a worker sat idle for a third of a crawl, 24 and more kept it busy.
IN_FLIGHT = 32
PAGE_TIMEOUT = 120.0  # seconds a worker may take over one page (pages take milliseconds)
MAX_AUTO_WORKERS = 4
_HEADER = frames.HEADER
_PIPE_SIZE = 1 << 20
_CACHE_LIMIT = 256  # sources remembered per side (a config reload makes new Source objects)


def auto_workers(cores: int | None = None) -> int:
    """Workers for `parse: {workers: auto}`: one per core beyond the second, at most 4; none on
    one or two cores (the cores this process may run on, so `taskset` and CPU sets count).

    A worker costs CPU of its own (frames, a second interpreter) and saves wall time only while
    another core is idle. Measured on two vCPUs (docs/benchmarks.md), it cost more CPU and was
    no faster both on a busy machine and on one merely shared, which a two-core machine usually
    is; so the crawler keeps a core's worth of room before it starts one. `workers: 1` remains
    the setting for a big first crawl on an idle two-core machine.
    """
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
    return max(0, min(MAX_AUTO_WORKERS, cores - 2))


class WorkerDied(Exception):
    """A worker process ended while pages were in flight (they are parsed in-process instead)."""


class _Worker(asyncio.SubprocessProtocol):
    """One worker process and the futures of the pages it was sent, oldest first.

    The answers are read by this protocol straight off the pipe: each frame is unpickled from the
    chunk it arrived in (only a frame cut between two reads is copied to a buffer), where a
    stream reader would copy every frame into its buffer and out again.
    """

    def __init__(self) -> None:
        self.pending: deque[asyncio.Future[Any]] = deque()
        self.alive = True
        self.pid = 0
        self.sources: set[int] = set()  # the ids of the sources it was sent
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._partial = bytearray()  # the start of a frame the next read completes
        self._exited = asyncio.get_running_loop().create_future()

    # -- the protocol (called by the event loop) ----------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A subprocess transport, by duck type: other event loops (uvloop) have their own classes.
        self._transport = cast(asyncio.SubprocessTransport, transport)
        self.pid = self._transport.get_pid()
        self._stdin = cast(asyncio.WriteTransport, self._transport.get_pipe_transport(0))

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        if fd != 1:
            return
        try:
            self._receive(data)
        except Exception as exc:  # a broken frame: treat the worker as gone
            self._died(f"its answer could not be read ({exc!r})")

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._died("it exited")

    def process_exited(self) -> None:
        # Its last answers may still be in the pipe: the end of stdout is what fails the others.
        if not self._exited.done():
            self._exited.set_result(None)

    # -- frames --------------------------------------------------------------------------------

    def _receive(self, data: bytes | bytearray) -> None:
        partial = self._partial
        if partial:
            partial += data
            data = partial
        with memoryview(data) as view:
            used = self._answers(view)
        if data is partial:
            del partial[:used]
        elif used < len(data):
            partial += data[used:]

    def _answers(self, view: memoryview) -> int:
        """Answer the futures of the whole frames in `view`; returns how many bytes they took."""
        pos, end = 0, len(view)
        while end - pos >= _HEADER:
            size = int.from_bytes(view[pos : pos + _HEADER], "big")
            if end - pos - _HEADER < size:
                break
            value = frames.read_answer(view[pos + _HEADER : pos + _HEADER + size])
            pos += _HEADER + size
            future = self.pending.popleft()
            if future.done():  # its caller was cancelled; the answer is dropped
                continue
            if isinstance(value, Exception):
                future.set_exception(value)
            else:
                future.set_result(value)
        return pos

    # -- the crawler's side --------------------------------------------------------------------

    def request(
        self,
        source_id: int,
        source: bytes,
        page: Page,
        item: ListingItem | None,
        url: str,
        *,
        fts: bool = False,
    ) -> bytes:
        """The frame for one page; the source itself goes only to a worker that lacks it."""
        if source_id in self.sources:
            return frames.request(source_id, None, page, item, url, fts=fts)
        forget = len(self.sources) >= _CACHE_LIMIT  # the worker forgets at the same moment
        if forget:
            self.sources.clear()
        self.sources.add(source_id)
        return frames.request(source_id, source, page, item, url, forget=forget, fts=fts)

    async def call(self, frame: bytes) -> Any:
        """Send one page frame; its answer (or its exception, raised here)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        if not self.alive or self._stdin is None or self._stdin.is_closing():
            self._died("its input is closed")
        else:
            # No drain: the pool's slots bound the pages in flight, hence this buffer.
            self._stdin.write(frame)
        return await future

    @property
    def returncode(self) -> int | None:
        """The worker's exit status, None while it runs."""
        return None if self._transport is None else self._transport.get_returncode()

    def kill(self) -> None:
        """Kill the process (its end is then noticed as a death)."""
        if self._transport is not None and self.returncode is None:
            try:
                self._transport.kill()
            except ProcessLookupError:  # already gone
                pass

    def stop(self, why: str) -> None:
        """Kill the worker; the pages it has in flight are parsed in-process instead."""
        self._died(why)

    def _died(self, why: str) -> None:
        if self.alive:
            self.alive = False
            log.warning(
                "parse worker %s stopped (%s); its %d page(s) in flight are parsed in-process",
                self.pid,
                why,
                len(self.pending),
            )
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(WorkerDied(why))
        self.kill()

    async def close(self, grace: float = 5.0) -> None:
        """Let the worker finish and exit (end of its stdin), killing it after `grace` seconds."""
        self.alive = False  # its end of output is expected now, not a death to report
        if self._stdin is not None and not self._stdin.is_closing():
            self._stdin.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._exited), grace)
        except TimeoutError:
            self.kill()
            await self._exited
        if self._transport is not None:
            self._transport.close()


class ParsePool:
    """Prepares article pages in worker processes; use as `async with ParsePool(n) as pool`."""

    def __init__(self, workers: int, *, page_timeout: float = PAGE_TIMEOUT) -> None:
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.size = workers
        self.page_timeout = page_timeout
        self.restarts = 0
        self._workers: list[_Worker] = []
        self._starting: asyncio.Lock | None = None
        self._sources: dict[int, tuple[Source, int, bytes]] = {}  # by id(): (it, number, pickle)
        self._source_numbers = 0
        self._slots = asyncio.Semaphore(max(1, workers) * IN_FLIGHT)
        self._reaping: set[asyncio.Task[None]] = set()
        self._closed = False
        self._warming: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: ParseSettings) -> ParsePool:
        """A pool sized by the config's `parse: {workers: ...}` (`auto`: `auto_workers()`)."""
        return cls(auto_workers() if settings.workers == "auto" else settings.workers)

    async def __aenter__(self) -> ParsePool:
        # Nothing is started yet: a crawl that finds nothing new to parse never pays for a worker.
        return self

    def warm(self) -> None:
        """Start the workers in the background, if they are not running: the crawl calls it when
        it has a first article to fetch, so that a worker imports the parser meanwhile."""
        if self.in_process or self._warming is not None:
            return
        self._warming = asyncio.create_task(self._ensure_workers())

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def in_process(self) -> bool:
        """True when pages are parsed in this process (no workers, or they kept dying)."""
        return self.size == 0 or self.restarts > MAX_RESTARTS or self._closed

    async def prepare(
        self, page: Page, source: Source, item: ListingItem | None, url: str, *, fts: bool = False
    ) -> Prepared:
        """`prepare.prepare_article(page, source, item, url, fts=fts)`, run by a worker when
        there is one.

        Parsed in this process, the page is left unpacked and without search index input
        (storage makes both in its thread).
        """
        if not self.in_process:
            async with self._slots:
                worker = await self._pick()
                if worker is not None:
                    frame = worker.request(*self._pickled(source), page, item, url, fts=fts)
                    try:
                        async with asyncio.timeout(self.page_timeout):
                            result: Prepared = await worker.call(frame)
                        return result
                    except WorkerDied:
                        pass  # logged once by the worker; this page is parsed here instead
                    except TimeoutError:
                        worker.stop(f"it spent over {self.page_timeout:g} s on {url}")
                        raise ParseError(
                            url,
                            f"parsing did not finish within {self.page_timeout:g} s "
                            "(the parse worker was restarted)",
                        ) from None
        return prepare_article(with_text(page), source, item, url, pack_body=False)

    def _pickled(self, source: Source) -> tuple[int, bytes]:
        """The number and pickle of `source`: made once per Source object, not once per page."""
        cached = self._sources.get(id(source))
        if cached is None or cached[0] is not source:
            if len(self._sources) >= _CACHE_LIMIT:
                self._sources.clear()
            self._source_numbers += 1
            pickled = pickle.dumps(source, protocol=pickle.HIGHEST_PROTOCOL)
            cached = (source, self._source_numbers, pickled)
            self._sources[id(source)] = cached
        return cached[1], cached[2]

    async def _pick(self) -> _Worker | None:
        await self._ensure_workers()
        if self.in_process or not self._workers:
            return None
        return min(self._workers, key=lambda w: len(w.pending))

    async def _ensure_workers(self) -> None:
        """Replace the workers that died and start the missing ones (unless parsing in-process)."""
        if self.in_process:
            return
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            for worker in [w for w in self._workers if not w.alive]:
                self._workers.remove(worker)
                self.restarts += 1
                task = asyncio.create_task(worker.close(grace=1.0))
                self._reaping.add(task)
                task.add_done_callback(self._reaping.discard)
            while len(self._workers) < self.size and not self.in_process:
                try:
                    self._workers.append(await _start_worker())
                except OSError as exc:
                    log.warning("cannot start a parse worker (%s); parsing in-process", exc)
                    self.restarts = MAX_RESTARTS + 1

    async def aclose(self) -> None:
        """Stop every worker (each finishes the pages it has first)."""
        self._closed = True
        if self._warming is not None:  # a worker still starting joins the others, then stops
            await asyncio.gather(self._warming, return_exceptions=True)
        workers, self._workers = self._workers, []
        await asyncio.gather(*(w.close() for w in workers), *self._reaping)


# The worker imports `crawler` from wherever this process did (installed or a checkout).
_ROOT = str(Path(__file__).resolve().parents[2])


async def _start_worker() -> _Worker:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
    _, worker = await asyncio.get_running_loop().subprocess_exec(
        _Worker,
        sys.executable,
        "-m",
        "crawler.workers.pool",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=None,
        env=env,
    )
    return worker


# -- the worker process ---------------------------------------------------------------------------


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def _portable(exc: Exception) -> Exception:
    """The exception itself when it survives pickling, else a RuntimeError with its text."""
    if not isinstance(exc, WorkerDied):
        exc.add_note("in parse worker " + str(os.getpid()) + ":\n" + traceback.format_exc())
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The worker loop: answer each page frame from `requests` on `answers` until end of input."""
    sources: dict[int, Source] = {}
    while True:
        header = _read_exactly(requests, _HEADER)
        if header is None:
            return
        body = _read_exactly(requests, int.from_bytes(header, "big"))
        if body is None:
            return
        try:
            req = frames.read_request(body)
            if req.forget:
                sources.clear()
            if req.source is not None:
                sources[req.source_id] = pickle.loads(req.source)
            source = sources.get(req.source_id)
            if source is None:
                raise RuntimeError(f"source number {req.source_id} was never sent to this worker")
            page = with_text(req.page)
            reply = frames.answer(prepare_article(page, source, req.item, req.url, fts=req.fts))
        except Exception as exc:
            reply = frames.failure(_portable(exc))
        answers.write(reply)
        answers.flush()


def _widen_pipe(fd: int) -> None:
    """Give a pipe room for a few answers (an article is ~80 KB; Linux pipes hold 64 KB)."""
    # Fewer, larger reads: the crawler wakes up once per answer instead of twice or more.
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        except OSError:  # not a pipe, or over /proc/sys/fs/pipe-max-size: keep what it has
            pass


def main() -> None:
    """Entry point of `python -m crawler.workers.pool` (started by `ParsePool`)."""
    # Ctrl-C reaches the whole process group: the crawler decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for stream in (sys.stdin, sys.stdout):
        _widen_pipe(stream.fileno())
    # The frames own the real stdout; anything else printing goes to stderr instead.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)-7s %(name)s (parse worker %(process)d): %(message)s",
    )
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
