"""Search over every version: query latency on SQLite (FTS5) and PostgreSQL, index size, backfill.

    .venv/bin/python benchmarks/search_bench.py [--articles 100000] [--pg-url URL|none] [--smoke]
        [--keep DIR [--reindex]]

Builds a corpus of `--articles` articles x 3 versions (an edited paragraph, then a deleted one;
1 in 10 articles removed) from the text of the real pages in tests/fixtures/real-pages (English
and Chinese) and multilingual paragraphs (Russian, Japanese, French, German), with varied
vocabulary, and stores it in a fresh SQLite file and a fresh PostgreSQL schema with plain INSERTs.
Then it indexes every version with the backfill (`storage.search.index`, the path migration
0006 and `search --rebuild` take) and times it, measures the index against the stored text, and
runs 30 typical queries (words, phrases, two-character Chinese and Japanese, NOT, prefixes, OR,
`--in all` and `--in removed`), each `--repeat` times as `mfawatch search` does (the ranked page
of 20 hits, its total, and the snippets): p50 and p95 latency per engine.

`--keep DIR` keeps the corpus between runs (the SQLite file in DIR, the PostgreSQL schema
`bench_keep_<articles>`, or `--pg-schema NAME`) and reuses it when it holds the same number of articles: the next run
only opens it (a newer schema upgrades it by its migrations), finishes a pending backfill (the
figure reported as backfill time) and queries; `--reindex` rebuilds the index anyway.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from selectolax.lexbor import LexborHTMLParser

from storage.engine import Database, open_db
from storage.search import index
from storage.search.passages import passages
from storage.search.query import parse
from storage.search.results import Scope, SearchRequest, search

PAGES = Path(__file__).parent.parent / "tests" / "fixtures" / "real-pages"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
SOURCES = [("cn-en", "CN", "en"), ("cn-zh", "CN", "zh"), ("ru", "RU", "ru"), ("jp", "JP", "ja"),
           ("fr", "FR", "fr"), ("de", "DE", "de")]  # fmt: skip
EXTRA = {
    "ru": ["Министр иностранных дел Сергей Лавров провёл переговоры с коллегой.",
           "Обсуждались санкции, ситуация на Украине и торговое сотрудничество.",
           "Российская сторона выразила обеспокоенность действиями НАТО в регионе.",
           "Стороны договорились продолжить консультации на уровне заместителей министров."],
    "ja": ["岸田総理大臣は、ウクライナ情勢について各国首脳と電話会談を行った。",
           "上川外務大臣は王毅外交部長と会談し、台湾海峡の平和と安定の重要性を確認した。",
           "日本政府は、エネルギー安全保障と経済協力の強化に取り組む。",
           "両外相は、北朝鮮の核・ミサイル問題について緊密に連携することで一致した。"],
    "fr": ["Le ministère de l'Europe et des Affaires étrangères condamne fermement l'attaque.",
           "La France réaffirme son soutien à l'Ukraine et appelle au cessez-le-feu à Gaza.",
           "Les sanctions européennes sont maintenues jusqu'au retrait des troupes.",
           "Le ministre s'est entretenu avec son homologue allemand sur la sécurité européenne."],
    "de": ["Die Außenministerin führte Gespräche über Handel, Klima und Sicherheit.",
           "Die Bundesregierung verurteilt den Angriff und fordert einen sofortigen Waffenstillstand.",
           "Sanktionen gegen weitere Unternehmen wurden beschlossen.",
           "Der Botschafter wurde ins Auswärtige Amt einbestellt."],
}  # fmt: skip
QUERIES = [
    ("taiwan", Scope.CURRENT), ("sanctions", Scope.CURRENT), ("minister", Scope.CURRENT),
    ('"foreign minister"', Scope.CURRENT), ('"regular press conference"', Scope.CURRENT),
    ("台湾", Scope.CURRENT), ("中国", Scope.CURRENT), ("王毅", Scope.CURRENT), ("香港", Scope.CURRENT),
    ("岸田", Scope.CURRENT), ("外務", Scope.CURRENT), ("ウクライナ", Scope.CURRENT),
    ("лавров", Scope.CURRENT), ("санкции", Scope.CURRENT), ("ministere", Scope.CURRENT),
    ("außenministerin", Scope.CURRENT), ("sanction*", Scope.CURRENT), ("coop*", Scope.CURRENT),
    ("taiwan -china", Scope.CURRENT), ("sanctions NOT ukraine", Scope.CURRENT),
    ("trade OR climate", Scope.CURRENT), ("(lavrov OR 王毅) talks", Scope.CURRENT),
    ("taiwan", Scope.ALL), ("台湾", Scope.ALL), ('"one china"', Scope.ALL),
    ("ceasefire", Scope.REMOVED), ("台湾", Scope.REMOVED), ("sanctions", Scope.REMOVED),
    ("-taiwan", Scope.REMOVED), ("zz0042", Scope.ALL),
]  # fmt: skip


def _pools() -> dict[str, list[str]]:
    """Paragraphs per language: the real pages' bodies, and the extra languages' lines."""
    pools: dict[str, list[str]] = {"en": [], "zh": [], **EXTRA}
    for sidecar in sorted(PAGES.glob("*article*.json")) + [PAGES / "wang-yi-blinken-2021.json"]:
        meta = json.loads(sidecar.read_text())
        lang = "zh" if meta.get("language", "").startswith("zh") else "en"
        tree = LexborHTMLParser(
            sidecar.with_suffix(".html").read_bytes().decode("utf-8", "replace")
        )
        for p in tree.css("p"):
            text = " ".join(p.text().split())
            if len(text) > 30:
                pools[lang].append(text)
    return pools


def _versions(rng: random.Random, pool: list[str], k: int) -> list[str]:
    """Three bodies: the first, one paragraph edited, then one paragraph deleted."""
    paras = [rng.choice(pool) for _ in range(rng.randint(4, 9))]
    paras.append(f"Reference zz{k % 5000:04d} w{rng.randint(0, 99999)}.")
    v1 = "\n\n".join(paras)
    paras[rng.randrange(len(paras))] = rng.choice(pool)
    v2 = "\n\n".join(paras)
    del paras[rng.randrange(len(paras))]
    return [v1, v2, "\n\n".join(paras)]


def load(db: Database, n: int, seed: int = 7) -> int:
    """Store n articles x 3 versions with plain INSERTs (no index); the text's size in bytes."""
    rng, pools, size = random.Random(seed), _pools(), 0
    with db.session() as s:
        s.execute(
            sa.text("INSERT INTO sources (key, name, country, language, timezone) VALUES (:k, :n, :c, :l, 'UTC')"),
            [{"k": k, "n": k, "c": c, "l": lang} for k, c, lang in SOURCES],
        )  # fmt: skip
    batch = 2000
    for start in range(0, n, batch):
        articles, versions = [], []
        for k in range(start, min(n, start + batch)):
            key, _, lang = SOURCES[k % len(SOURCES)]
            bodies = _versions(rng, pools[lang], k)
            title = bodies[0].split("\n", 1)[0][:120]
            when = T0 + timedelta(minutes=k)
            removed = k % 10 == 9
            articles.append({"id": k + 1, "source": key, "url": f"https://m.example/{k}", "when": when,
                             "status": "removed" if removed else "live", "version": 4 if removed else 3})  # fmt: skip
            for number, body in enumerate(bodies, start=1):
                size += len(body.encode()) + len(title.encode())
                versions.append({"article_id": k + 1, "number": number, "kind": "new" if number == 1 else "changed",
                                 "seen_at": when, "hash": f"{k}-{number}", "title": title, "body": body})  # fmt: skip
            if removed:
                versions.append({"article_id": k + 1, "number": 4, "kind": "removed", "seen_at": when,
                                 "hash": None, "title": None, "body": None})  # fmt: skip
        with db.session() as s:
            s.execute(
                sa.text(
                    "INSERT INTO articles (id, source, url, status, version, content_version, title, "
                    "first_seen_at, last_checked_at, last_changed_at, checks, missing_checks) "
                    "VALUES (:id, :source, :url, :status, :version, 3, '', :when, :when, :when, 1, 0)"
                ).bindparams(sa.bindparam("when", type_=sa.DateTime())),
                articles,
            )
            s.execute(
                sa.text(
                    "INSERT INTO versions (article_id, number, kind, seen_at, content_hash, title, body_text) "
                    "VALUES (:article_id, :number, :kind, :seen_at, :hash, :title, :body)"
                ).bindparams(sa.bindparam("seen_at", type_=sa.DateTime())),
                versions,
            )
    with db.session() as s:
        s.execute(
            sa.text(
                "UPDATE articles SET title = (SELECT title FROM versions v WHERE v.article_id = articles.id AND v.number = 3)"
            )
        )
    return size


def build_index(db: Database, rebuild: bool = True) -> float:
    """Index every stored version with the backfill (`rebuild` False: only finish a pending
    one, e.g. planned by a migration); seconds taken."""
    start = time.perf_counter()
    if rebuild:
        with db.session() as s:
            index.clear(s)
            index.start_backfill(s)

    def transaction(fn):  # type: ignore[no-untyped-def]
        with db.session() as s:
            return fn(s)

    index.run_backfill(transaction, size=2000)
    if db.dialect == "postgresql":  # as autovacuum would after so many rows: fresh statistics
        with db.session() as s:
            s.execute(sa.text("ANALYZE"))
    return time.perf_counter() - start


def stored(db: Database) -> int:
    """How many articles a kept corpus holds."""
    with db.session(readonly=True) as s:
        return int(s.execute(sa.text("SELECT count(*) FROM articles")).scalar_one())


def text_size(db: Database) -> int:
    """The stored text's size in bytes, as `load` counts it."""
    with db.session(readonly=True) as s:
        return int(
            s.execute(
                sa.text(
                    "SELECT coalesce(sum(length(CAST(body_text AS BLOB)) + "
                    "length(CAST(title AS BLOB))), 0) FROM versions WHERE body_text IS NOT NULL"
                    if db.dialect == "sqlite"
                    else "SELECT coalesce(sum(octet_length(body_text) + octet_length(title)), 0) "
                    "FROM versions WHERE body_text IS NOT NULL"
                )
            ).scalar_one()
        )


def index_bytes(db: Database) -> int:
    """Bytes the index takes on disk (FTS5 shadow tables; the PostgreSQL tables and GIN indexes)."""
    with db.session(readonly=True) as s:
        if db.dialect == "postgresql":
            return int(
                s.execute(
                    sa.text(
                        "SELECT pg_total_relation_size('search_terms') + "
                        "coalesce(pg_total_relation_size(to_regclass('search_text')), 0)"
                    )
                ).scalar_one()
            )
        return int(
            s.execute(
                sa.text(
                    "SELECT sum(pgsize) FROM dbstat "
                    "WHERE name LIKE 'search_fts%' OR name LIKE 'search_current%'"
                )
            ).scalar_one()
        )


def run_queries(
    db: Database,
    repeat: int,
    slowest: dict[str, float] | None = None,
    cpu: list[float] | None = None,
) -> tuple[list[float], dict[str, int]]:
    """Latencies (ms) of every query run, and each query's total hits (and, into `slowest`,
    each query's median; into `cpu`, this process's CPU ms of each run: all of SQLite's work,
    none of PostgreSQL's server)."""
    latencies, totals = [], {}
    for text, scope in QUERIES:
        request = SearchRequest(parse(text), scope=scope, limit=20)
        for _ in range(repeat):
            start, started_cpu = time.perf_counter(), time.process_time()
            with db.session(readonly=True) as s:
                result = search(s, request)
                passages(s, result.hits, scope, request.query)
            latencies.append((time.perf_counter() - start) * 1000)
            if cpu is not None:
                cpu.append((time.process_time() - started_cpu) * 1000)
        # An estimated total (a frequent phrase on PostgreSQL) is marked: not compared.
        totals[f"{text} --in {scope.value}"] = result.total if result.exact else -1
        if slowest is not None:
            slowest[f"{text} --in {scope.value}"] = _pct(latencies[-repeat:], 50)
    return latencies, totals


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="PostgreSQL database ('none' to skip)")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="300 articles, 1 run per query (CI)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--keep", metavar="DIR", help="keep the corpus there and reuse it")
    parser.add_argument("--reindex", action="store_true", help="with --keep: rebuild the index")
    parser.add_argument("--pg-schema", metavar="NAME",
                        help="with --keep: the PostgreSQL schema to keep the corpus in "
                        "(default bench_keep_<articles>; the database is shared)")  # fmt: skip
    args = parser.parse_args(argv)
    n, repeat = (300, 1) if args.smoke else (args.articles, args.repeat)
    figures: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(args.keep) if args.keep else Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        urls = [("sqlite", f"sqlite:///{where / f'search-{n}.sqlite3'}")]
        admin = schema = None
        if args.pg_url != "none":
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            if args.keep:
                schema = args.pg_schema or f"bench_keep_{n}"
            admin = sa.create_engine(args.pg_url)
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            sep = "&" if "?" in args.pg_url else "?"
            urls.append(("postgresql", f"{args.pg_url}{sep}options=-csearch_path%3D{schema}"))
        try:
            totals_by_engine = {}
            for name, url in urls:
                db = open_db(url)
                kept = args.keep is not None and stored(db) == n
                text_bytes = text_size(db) if kept else load(db, n)
                seconds = build_index(db, rebuild=not kept or args.reindex)
                medians: dict[str, float] = {}
                cpu: list[float] = []
                latencies, totals = run_queries(db, repeat, medians, cpu)
                top = sorted(medians.items(), key=lambda kv: -kv[1])[:5]
                print(f"{name} slowest (median ms):", ", ".join(f"{q} {ms:.0f}" for q, ms in top))
                totals_by_engine[name] = totals
                figures[name] = {
                    "articles": n, "versions": 3 * n, "text_bytes": text_bytes,
                    "index_bytes": index_bytes(db), "backfill_s": round(seconds, 2),
                    "versions_per_s": round(3 * n / seconds),
                    "p50_ms": round(_pct(latencies, 50), 2), "p95_ms": round(_pct(latencies, 95), 2),
                    "max_ms": round(max(latencies), 2),
                    "cpu_p50_ms": round(_pct(cpu, 50), 2), "cpu_p95_ms": round(_pct(cpu, 95), 2),
                    "load": os.getloadavg()[0],
                }  # fmt: skip
                db.dispose()
        finally:
            if admin is not None and not args.keep:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            if admin is not None:
                admin.dispose()
    print(
        f"{'engine':11} {'articles':>9} {'backfill s':>10} {'vers/s':>7} {'index/text':>10} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'cpu p50':>7} {'cpu p95':>7} {'load':>5}"
    )
    for name, f in figures.items():
        ratio = int(f["index_bytes"]) / int(f["text_bytes"])  # type: ignore[call-overload]
        print(
            f"{name:11} {f['articles']:>9} {f['backfill_s']:>10} {f['versions_per_s']:>7} {ratio:>10.2f} {f['p50_ms']:>7} {f['p95_ms']:>7} {f['max_ms']:>7} {f['cpu_p50_ms']:>7} {f['cpu_p95_ms']:>7} {f['load']:>5.1f}"
        )
    estimated = [q for q, t in totals_by_engine.get("postgresql", {}).items() if t == -1]
    if estimated:
        print("PostgreSQL estimated the total of:", ", ".join(estimated))
    differ = [
        q
        for q, t in totals_by_engine.get("postgresql", {}).items()
        if t not in (totals_by_engine["sqlite"][q], -1)
    ]
    if differ:
        print("hit counts differ between the engines:", file=sys.stderr)
        for q, t in totals_by_engine["sqlite"].items():
            if totals_by_engine["postgresql"][q] not in (t, -1):
                print(
                    f"  {q}: sqlite {t}, postgresql {totals_by_engine['postgresql'][q]}",
                    file=sys.stderr,
                )
        return 1
    if not any(totals_by_engine["sqlite"].values()):
        print("no query found anything: the corpus is broken", file=sys.stderr)
        return 1
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
