"""A synthetic multi-source ministry site for benchmarks: generated on disk, served on 127.0.0.1.

Each source has paginated listings (50 items a page) and articles of 30–60 KB with realistic
chrome (navigation, breadcrumb, share tools, related-news box, scripts, footer). Sources rotate
through the date formats real ministries use, and one source in five is served in GB18030 with a
charset-less Content-Type header, as fmprc serves its pages.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PER_PAGE = 50
WORDS = (
    "minister foreign affairs cooperation bilateral relations statement spokesperson conference "
    "security economic development peace stability region partnership dialogue agreement trade "
    "sovereignty international community support principle policy mutual respect summit climate"
).split()
ZH = "外交部发言人表示中方坚决反对双边关系合作发展和平稳定地区伙伴对话协议贸易主权国际社会支持原则政策相互尊重峰会气候"

DATE_STYLES = ("iso-minute", "english", "chinese", "dotted")


@dataclass(frozen=True)
class SiteSpec:
    sources: int
    articles: int  # per source

    @property
    def total(self) -> int:
        return self.sources * self.articles


def _date_text(style: str, i: int) -> str:
    day, month, year = 1 + i % 28, 1 + (i // 28) % 12, 2020 + (i // 336) % 6
    if style == "iso-minute":
        return f"{year}-{month:02d}-{day:02d} {i % 24:02d}:{i % 60:02d}"
    if style == "english":
        names = (
            "January February March April May June July August September October November December"
        )
        return f"{names.split()[month - 1]} {day}, {year}"
    if style == "chinese":
        return f"{year}年{month}月{day}日"
    return f"{day:02d}.{month:02d}.{year}"


def _paragraphs(rng: random.Random, chinese: bool, target_bytes: int) -> list[str]:
    out: list[str] = []
    size = 0
    while size < target_bytes:
        if chinese:
            text = "".join(rng.choice(ZH) for _ in range(rng.randint(60, 160))) + "。"
        else:
            text = (
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 110))).capitalize() + "."
            )
        out.append(text)
        size += len(text.encode("utf-8")) + 7
    return out


CHROME_HEAD = """<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{title}</title><link rel="stylesheet" href="/css/site.css">
<script>var _hmt = _hmt || []; (function() {{ var hm = document.createElement("script"); }})();</script>
<style>.nav li{{display:inline}} .content p{{text-indent:2em}}</style></head><body>
<div class="header"><ul class="nav">{nav}</ul><form class="search"><input name="q"></form></div>
<div class="urhere">Home &gt; Press &gt; {section}</div>"""
CHROME_FOOT = """<div class="tool"><a href="javascript:void(0)">Suggest to a friend</a> <a href="javascript:print()">Print</a></div>
<div id="relnews_list"><h4>Related news</h4><ul>{related}</ul></div>
<div class="footer">Copyright Ministry of Foreign Affairs. All rights reserved. {counter} visits</div>
<script>document.write('<img src="/stat.gif?r=' + Math.random() + '">');</script></body></html>"""


def _nav(rng: random.Random) -> str:
    return "".join(
        f'<li><a href="/section/{i}/">{rng.choice(WORDS).title()}</a></li>' for i in range(25)
    )


def article_html(spec_src: int, i: int, *, edited: bool = False) -> tuple[str, str]:
    """(html, charset) of article i of source spec_src."""
    rng = random.Random(spec_src * 100_003 + i)
    style = DATE_STYLES[spec_src % len(DATE_STYLES)]
    chinese = style == "chinese"
    charset = "gb18030" if spec_src % 5 == 4 else "utf-8"
    title = f"Statement {spec_src}-{i} on " + " ".join(rng.choice(WORDS) for _ in range(6))
    paras = _paragraphs(rng, chinese, rng.randint(24_000, 50_000))
    if edited:
        paras[len(paras) // 2] += " This sentence was added after publication."
    related = "".join(
        f'<li><a href="../a/{rng.randint(0, 10**6)}.html">{rng.choice(WORDS)} news</a> (2020-01-0{1 + k})</li>'
        for k in range(8)
    )
    body = "".join(f"<p>{p}</p>" for p in paras)
    html = (
        CHROME_HEAD.format(
            charset=charset, title=title, nav=_nav(rng), section=f"Section {spec_src}"
        )
        + f'<div class="main"><h2 class="title">{title}</h2><div id="date">{_date_text(style, i)}</div>'
        + f'<div class="content">{body}</div></div>'
        + CHROME_FOOT.format(related=related, counter=rng.randint(1, 10**6))
    )
    return html, charset


def listing_html(spec_src: int, page: int, count: int) -> str:
    """Listing page `page` (0-based) of a source with `count` articles."""
    rng = random.Random(spec_src * 7 + page)
    style = DATE_STYLES[spec_src % len(DATE_STYLES)]
    start = page * PER_PAGE
    items = "".join(
        f'<li><a href="./a/{i}.html">Statement {spec_src}-{i}</a> <span>({_date_text(style, i)})</span></li>'
        for i in range(start, min(start + PER_PAGE, count))
    )
    return (
        CHROME_HEAD.format(
            charset="utf-8", title="Press", nav=_nav(rng), section=f"Section {spec_src}"
        )
        + f'<div class="newsList"><ul>{items}</ul></div>'
        + CHROME_FOOT.format(related="", counter=rng.randint(1, 10**6))
    )


def generate(root: Path, spec: SiteSpec) -> None:
    """Write the whole site under root."""
    for s in range(spec.sources):
        base = root / f"s{s:02d}"
        (base / "a").mkdir(parents=True, exist_ok=True)
        pages = (spec.articles + PER_PAGE - 1) // PER_PAGE
        for p in range(pages):
            name = "index.html" if p == 0 else f"index_{p}.html"
            (base / name).write_text(listing_html(s, p, spec.articles), encoding="utf-8")
        for i in range(spec.articles):
            html, charset = article_html(s, i)
            (base / "a" / f"{i}.html").write_bytes(html.encode(charset))


def edit_articles(root: Path, spec: SiteSpec, fraction: float) -> int:
    """Rewrite a fraction of the articles with a real edit; returns how many."""
    rng = random.Random(42)
    edited = 0
    for s in range(spec.sources):
        for i in range(spec.articles):
            if rng.random() < fraction:
                html, charset = article_html(s, i, edited=True)
                (root / f"s{s:02d}" / "a" / f"{i}.html").write_bytes(html.encode(charset))
                edited += 1
    return edited


def config_yaml(base_url: str, spec: SiteSpec, *, concurrency: int = 8) -> str:
    """The mfawatch config for the synthetic site (all sources share one host, so limits are raised)."""
    pages = (spec.articles + PER_PAGE - 1) // PER_PAGE
    # One parse worker, as for a big first crawl on an idle machine (`auto` starts none on two
    # cores: docs/benchmarks.md, parse workers).
    out = [f"http: {{pool_size: {concurrency}}}", "parse: {workers: 1}", "sources:"]
    zones = ("Asia/Shanghai", "Europe/Moscow", "Europe/Berlin", "America/New_York")
    for s in range(spec.sources):
        out.append(
            f"""  - key: bench-s{s:02d}
    name: Synthetic ministry {s}
    country: {"CN" if s % 2 else "RU"}
    language: en
    timezone: {zones[s % len(zones)]}
    politeness: {{concurrency_per_host: {concurrency}, respect_robots: false}}
    listings:
      - url: {base_url}/s{s:02d}/index.html
        section: Section {s}
        paginate: {{template: "index_{{n}}.html", first: 1, max_pages: {pages}}}
    list: {{item: "div.newsList li", link: "a", date: "span"}}
    article: {{title: "h2.title", date: "#date", body: "div.content", remove: ["script", "style"]}}"""
        )
    return "\n".join(out) + "\n"


SERVER = r"""
import sys
from aiohttp import web
root = sys.argv[1]
async def handle(request):
    path = request.match_info["tail"]
    import os
    full = os.path.join(root, path)
    if not os.path.isfile(full):
        return web.Response(status=404, text="not found")
    with open(full, "rb") as f:
        body = f.read()
    # Like fmprc: text/html with no charset parameter.
    return web.Response(body=body, headers={"Content-Type": "text/html"})
app = web.Application()
app.router.add_get("/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
"""


class SiteServer:
    """The generated site served by aiohttp in a separate process (so it does not share our CPU time)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> SiteServer:
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, str(self.root), str(self.port)])
        import urllib.request

        for _ in range(100):
            try:
                urllib.request.urlopen(self.base_url + "/s00/index.html", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("synthetic site did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
