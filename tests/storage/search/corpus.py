"""A small multilingual corpus with edits and removals, stored through the real write paths."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from storage import versions
from storage.engine import Database
from storage.model import Article
from storage.sources import SourceInfo, sync_sources
from tests.storage.conftest import day_date, make_article, make_raw

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Doc:
    """An article's versions (title, body) in order, and whether it ends removed."""

    key: str
    source: str
    texts: tuple[tuple[str, str], ...]
    removed: bool = False
    day: int = 1


DOCS = (
    Doc(
        "en-1",
        "cn-mfa-en",
        (
            (
                "Wang Yi Holds Talks with Lavrov",
                "Foreign Minister Wang Yi met Sergey Lavrov in Beijing.\n\nThey discussed the situation in Ukraine and sanctions.",
            ),
            (
                "Wang Yi Holds Talks with Lavrov",
                "Foreign Minister Wang Yi met Sergey Lavrov in Beijing.\n\nThey discussed bilateral trade.",
            ),
        ),
        day=3,
    ),
    Doc(
        "en-2",
        "cn-mfa-en",
        (
            (
                "Spokesperson's Regular Press Conference",
                "Question: On the Taiwan question, the one China policy is clear.\n\nAnswer: We oppose any sanction on Chinese companies.",
            ),
        ),
        day=5,
    ),
    Doc(
        "en-3",
        "cn-mfa-en",
        (
            (
                "Statement on the Middle East",
                "The Ministry calls for a ceasefire in Gaza.\n\nHumanitarian aid must reach civilians.",
            ),
            (
                "Statement on the Middle East",
                "The Ministry calls for an immediate ceasefire.\n\nHumanitarian aid must reach civilians without delay.",
            ),
        ),
        removed=True,
        day=7,
    ),
    Doc(
        "en-4",
        "us-state",
        (
            (
                "Secretary's Remarks on Sanctions",
                "The United States announces new sanctions against entities supporting the war.\n\nThe embargo remains in place.",
            ),
        ),
        day=2,
    ),
    Doc(
        "en-5",
        "us-state",
        (
            (
                "Readout: Call with Japanese Foreign Minister",
                "The Secretary spoke with Japanese Foreign Minister Kamikawa about Taiwan Strait stability and the G7.",
            ),
            (
                "Readout: Call with Japanese Foreign Minister",
                "The Secretary spoke with Japanese Foreign Minister Kamikawa about the G7 summit.",
            ),
        ),
        day=9,
    ),
    Doc(
        "zh-1",
        "cn-mfa-zh",
        (
            (
                "外交部发言人答记者问",
                "问：关于台湾问题，中方立场是什么？\n\n答：一个中国原则是国际社会的普遍共识。",
            ),
            (
                "外交部发言人答记者问",
                "问：关于南海问题，中方立场是什么？\n\n答：中方一贯主张通过谈判解决争议。",
            ),
        ),
        day=4,
    ),
    Doc(
        "zh-2",
        "cn-mfa-zh",
        (
            (
                "王毅同拉夫罗夫会谈",
                "2024年5月，王毅同俄罗斯外长拉夫罗夫在北京会谈。双方就乌克兰危机交换意见。",
            ),
        ),
        day=6,
    ),
    Doc("zh-3", "cn-mfa-zh", (("台北与湾仔", "台北的天气很好。湾仔是香港的一个区。"),), day=8),
    Doc(
        "zh-4",
        "cn-mfa-zh",
        (("中方就制裁问题表明立场", "中方坚决反对单边制裁。台"),),
        removed=True,
        day=10,
    ),
    Doc(
        "ja-1",
        "jp-mofa",
        (
            ("岸田総理大臣の訪問", "岸田総理はウクライナを訪問し、ゼレンスキー大統領と会談した。"),
            ("岸田総理大臣の訪問", "岸田総理はポーランドを訪問した。"),
        ),
        day=11,
    ),
    Doc(
        "ja-2",
        "jp-mofa",
        (
            (
                "日中外相会談",
                "上川外務大臣は王毅外交部長と会談した。台湾海峡の平和と安定の重要性を確認した。",
            ),
        ),
        day=12,
    ),
    Doc("ja-3", "jp-mofa", (("ｶﾞｽ供給について", "ＧＡＳ供給とエネルギー安全保障。"),), day=13),
    Doc(
        "ru-1",
        "ru-mid",
        (
            (
                "Лавров провёл переговоры",
                "Министр иностранных дел Сергей Лавров провёл переговоры с Ван И.\n\nОбсуждались санкции и ситуация на Украине.",
            ),
            (
                "ЛАВРОВ провёл переговоры",
                "Министр иностранных дел Сергей Лавров провёл переговоры с Ван И.\n\nОбсуждалось торговое сотрудничество.",
            ),
        ),
        day=14,
    ),
    Doc(
        "ru-2",
        "ru-mid",
        (("Заявление МИД", "Ёлка в Кремле. Наш ответ на санкции будет симметричным."),),
        removed=True,
        day=15,
    ),
    Doc(
        "fr-1",
        "fr-meae",
        (
            (
                "Le Ministère condamne l'attaque",
                "Le ministère de l'Europe et des Affaires étrangères condamne fermement l'attaque.\n\nLa France appelle au cessez-le-feu à Gaza.",
            ),
            (
                "Le Ministère condamne l'attaque",
                "Le ministère de l'Europe et des Affaires étrangères condamne l'attaque.",
            ),
        ),
        day=16,
    ),
    Doc(
        "fr-2",
        "fr-meae",
        (
            (
                "Déclaration sur l'Ukraine",
                "La France réaffirme son soutien à l'Ukraine. Les sanctions européennes sont maintenues.",
            ),
        ),
        day=17,
    ),
    Doc(
        "de-1",
        "de-aa",
        (
            (
                "Außenministerin zu Gesprächen in Peking",
                "Die Außenministerin führte Gespräche über Taiwan und die Straße von Taiwan.\n\nSanktionen wurden nicht erörtert.",
            ),
            (
                "Außenministerin zu Gesprächen in Peking",
                "Die Außenministerin führte Gespräche über Handel und Klima.",
            ),
        ),
        day=18,
    ),
    Doc(
        "de-2",
        "de-aa",
        (("Erklärung zur Lage", "Die STRASSE war gesperrt. Der Botschafter wurde einbestellt."),),
        day=19,
    ),
    Doc(
        "mix-1",
        "cn-mfa-en",
        (
            (
                "G7外相会合 and the Taiwan question",
                "Japan hosted the G7外相会合 in Karuizawa; 台湾 and Ukraine were on the agenda.",
            ),
        ),
        day=20,
    ),
    Doc(
        "mix-2",
        "jp-mofa",
        (
            (
                "Joint statement 共同声明",
                "The leaders issued a 共同声明 on cooperation. 王毅 was not present. Co-operation continues.",
            ),
            ("Joint statement 共同声明", "The leaders issued a joint statement on co-operation."),
        ),
        day=21,
    ),
)

SOURCES = (
    SourceInfo("cn-mfa-en", "China MFA", "CN", "en", "Asia/Shanghai"),
    SourceInfo("cn-mfa-zh", "China MFA (zh)", "CN", "zh", "Asia/Shanghai"),
    SourceInfo("us-state", "US State", "US", "en", "America/New_York"),
    SourceInfo("jp-mofa", "Japan MOFA", "JP", "ja", "Asia/Tokyo"),
    SourceInfo("ru-mid", "Russia MID", "RU", "ru", "Europe/Moscow"),
    SourceInfo("fr-meae", "France MEAE", "FR", "fr", "Europe/Paris"),
    SourceInfo("de-aa", "Auswärtiges Amt", "DE", "de", "Europe/Berlin"),
)


def url_of(doc: Doc) -> str:
    """The article URL of a corpus document."""
    return f"https://mfa.example/{doc.key}.html"


def _article(doc: Doc, title: str, body: str) -> Article:
    return replace(
        make_article(url_of(doc), title=title, body_text=body, body_html=f"<p>{body}</p>"),
        source=doc.source,
        date=day_date(date(2024, 4, doc.day)),
    )


def load(db: Database) -> None:
    """Store every document of the corpus: version 1, its edits, then removals."""
    with db.session() as s:
        sync_sources(s, SOURCES)
    for step in range(max(len(d.texts) for d in DOCS)):
        for doc in DOCS:
            if step >= len(doc.texts):
                continue
            title, body = doc.texts[step]
            now = T0 + timedelta(hours=step)
            with db.session() as s:
                versions.record_fetch(
                    s,
                    _article(doc, title, body),
                    make_raw(url_of(doc), body.encode(), at=now),
                    now=now,
                    next_check_at=now + timedelta(hours=1),
                )
    now = T0 + timedelta(days=1)
    for doc in DOCS:
        if doc.removed:
            with db.session() as s:
                versions.record_missing(
                    s,
                    url_of(doc),
                    None,
                    "http_404",
                    now=now,
                    next_check_at=now,
                    confirm_checks=1,
                    confirm_window=timedelta(0),
                )
