"""81.cn (PLA Daily): the site's quirks on the real page and the replica, and a crawl of the replica."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse
from support import sitecheck
from twisted.internet import defer

from crawler.archive import read_table
from crawler.items import Article
from crawler.kit.fixtures import fixture_page
from crawler.mirror.replica import manifest as replica_manifest
from crawler.mirror.server import SITES_ROOT, MirrorServer
from crawler.pipelines import clean
from crawler.sites.pla_daily import PlaDailySpider
from crawler.text.captions import split_credit
from crawler.text.normalise import normalise
from replicas.skeleton import SOURCES

FIXTURES = Path(__file__).parent / "fixtures" / "pla_daily"
REAL = fixture_page(FIXTURES / "real-16459682.json")
REAL_URL = "https://www.81.cn/yw_208727/16459682.html"
REAL_SHA256 = "3d61d34e8f555ee8c1230302e481c73912a19ac0a1a857b46566e1ef3804fbb0"
SHARED_REAL = (
    Path(__file__).resolve().parents[2]
    / "shared/fixtures/real/www.81.cn/pla-daily-article-16473227.html"
)
HOST = "www.81.cn"


def parse(page: bytes | str, url: str = REAL_URL) -> Article:
    body = page.encode("utf-8") if isinstance(page, str) else page
    response = HtmlResponse(url, body=body, encoding="utf-8")
    return clean(PlaDailySpider.parser(PlaDailySpider.description()).parse(response), check=True)


@pytest.fixture(scope="module")
def real() -> Article:
    return parse(REAL.read_bytes())


# -- the real page -------------------------------------------------------------------


def test_the_real_page_is_the_shared_one_byte_for_byte() -> None:
    page = REAL.read_bytes()
    assert hashlib.sha256(page).hexdigest() == REAL_SHA256
    source = SOURCES / "81.cn" / "real" / "pla-daily-article-16473227.html"
    assert source.read_bytes() == page
    if SHARED_REAL.is_file():
        assert SHARED_REAL.read_bytes() == page


def test_headline_is_the_h2_not_the_title_element(real: Article) -> None:
    assert real.title == "八一锐评丨既问计于兵，也问绩于兵"
    assert "中国军网" not in real.title
    assert real.language == "zh" and real.site == "81.cn" and real.article_id == "16459682"


def test_the_bold_repeat_of_the_headline_is_not_body(real: Article) -> None:
    """The paper prints the headline again, without its column label, as the first
    (bold) paragraph: it is page furniture, so the body starts with the text."""
    assert real.paragraphs[0].startswith("习主席强调")
    assert "既问计于兵，也问绩于兵" not in real.paragraphs[0][:12]
    assert len(real.paragraphs) == 3


def test_reporter_line_is_the_byline_and_the_web_editor_is_no_author(real: Article) -> None:
    assert real.byline == "■王永文"
    assert real.authors == ["王永文"]
    assert "孙泽" not in real.authors  # meta author/editor: the web editor
    assert all("■" not in p for p in real.paragraphs)


def test_publish_time_is_china_time(real: Article) -> None:
    assert real.published_raw == "2026-05-10 06:30:46"
    assert real.published_at == datetime(2026, 5, 9, 22, 30, 46, tzinfo=UTC)


def test_relative_image_sources_become_absolute(real: Article) -> None:
    assert [i.url for i in real.images] == [
        "https://www.81.cn/yw_208727/_attachment/2026/05/10/16459682_440d6ec1d3e483f364e700f3b7e39c3b.jpg",
        "https://www.81.cn/yw_208727/_attachment/2026/05/10/16459682_4c1535adb0d260fa2301e22673a67d20.png",
    ]
    assert all(i.caption is None and i.credit is None for i in real.images)


def test_date_only_in_the_meta_when_the_header_has_no_time() -> None:
    page = REAL.read_text("utf-8").replace("<span>发布：2026-05-10 06:30:46</span>", "")
    article = parse(page)
    assert article.published_raw == "2026-05-10"
    assert article.published_at == datetime(2026, 5, 9, 16, 0, tzinfo=UTC)


# -- white space in Chinese text ------------------------------------------------------


def _wrap(html: str) -> str:
    """The real body re-wrapped by a CMS: a line break (and indent) every 9th character."""

    def wrap(match: re.Match[str]) -> str:
        text = match.group(2)
        return (
            match.group(1)
            + "\n        ".join(text[i : i + 9] for i in range(0, len(text), 9))
            + "</p>"
        )

    return re.sub(r'(<p tag="ueditor-text-p_display"[^>]*>)([^<]+)</p>', wrap, html)


def test_source_line_breaks_between_chinese_characters_are_not_spaces(real: Article) -> None:
    wrapped = _wrap(REAL.read_text("utf-8"))
    assert wrapped.count("\n        ") > 50
    assert "”\n        “" in wrapped or "”\n        " in wrapped  # a break next to a quote mark
    article = parse(wrapped)
    assert article.body == real.body
    assert " " not in article.body


def test_the_shared_normaliser_joins_cjk_lines_also_around_quote_marks() -> None:
    """“” —— …… · sit outside the CJK blocks; against CJK text a break by them is no space."""
    assert normalise("干部业绩在实践，\n  干部声名在兵中。") == "干部业绩在实践，干部声名在兵中。"
    assert normalise("“政绩工程”\n“形象工程”") == "“政绩工程”“形象工程”"
    assert normalise("介绍，\n“这次考核") == "介绍，“这次考核"
    assert normalise("He said “yes”\n“no”") == "He said “yes” “no”"  # not in Latin text


def test_spaces_between_latin_words_stay() -> None:
    page = fixture_page(FIXTURES / "latin-words.json").read_text("utf-8")
    assert "《Science\nRobotics》" in page
    article = parse(page, "https://www.81.cn/yw_208727/16458967.html")
    assert "国际期刊《Science Robotics》上" in article.body
    assert (
        normalise("运用 AI 技术，\n提升 Deep\nLearning 能力")
        == "运用 AI 技术，提升 Deep Learning 能力"
    )


def test_a_space_printed_in_a_headline_stays() -> None:
    article = parse(
        (SITES_ROOT / "81.cn/pages/yw_208727/16459208.html").read_bytes(),
        "https://www.81.cn/yw_208727/16459208.html",
    )
    assert article.title == "边防官兵踏查巡逻 守护界碑万无一失"


# -- captions, credits, bylines ---------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "caption", "credit"),
    [
        ("5月8日，官兵对隐蔽目标实施射击。陈晓东摄", "5月8日，官兵对隐蔽目标实施射击。", "陈晓东"),
        ("巡逻官兵在界碑前庄严宣誓。（王海涛摄）", "巡逻官兵在界碑前庄严宣誓。", "王海涛"),
        ("官兵在泥泞中匍匐前进。 姜 涛 摄", "官兵在泥泞中匍匐前进。", "姜 涛"),
        ("冒雨开展战术训练。解放军报记者 姜 涛摄", "冒雨开展战术训练。", "解放军报记者 姜 涛"),
        ("舰员进行损管训练。（孙飞、黄海洋摄）", "舰员进行损管训练。", "孙飞、黄海洋"),
        ("官兵表演自编自演的文艺节目。", "官兵表演自编自演的文艺节目。", None),
        ("摄影爱好者在营区合影。", "摄影爱好者在营区合影。", None),
    ],
)
def test_chinese_photo_credits(printed: str, caption: str, credit: str | None) -> None:
    assert split_credit(printed) == (caption, credit)


def test_centred_caption_under_an_image_leaves_the_body() -> None:
    article = parse(
        fixture_page(FIXTURES / "live-fire-captions.json").read_bytes(),
        "https://www.81.cn/yw_208727/16459655.html",
    )
    assert [(i.caption, i.credit) for i in article.images] == [
        ("5月8日，参考官兵在夜间条件下对隐蔽目标实施射击。", "陈晓东"),
        ("考核间隙，官兵围绕射击数据开展复盘研讨。", "刘建伟"),
    ]
    assert "摄" not in article.body
    assert article.byline == "■解放军报记者 刘建伟 通讯员 陈晓东"
    assert article.authors == ["刘建伟", "陈晓东"]


@pytest.mark.parametrize(
    ("byline", "authors"),
    [
        ("■王永文", ["王永文"]),
        ("■解放军报记者 孙 飞 通讯员 黄海洋", ["孙飞", "黄海洋"]),
        ("■朱 磊 张 洋", ["朱磊", "张洋"]),
        ("■本报记者王永文 通讯员李明", ["王永文", "李明"]),
        ("■本报特约记者 赵 磊", ["赵磊"]),
        ("作者：李明", ["李明"]),
    ],
)
def test_reporter_lines(byline: str, authors: list[str]) -> None:
    assert PlaDailySpider.parser(PlaDailySpider.description()).authors(byline) == authors


def test_without_reporter_line_the_header_author_is_the_byline() -> None:
    article = parse(
        fixture_page(FIXTURES / "header-author.json").read_bytes(),
        "https://www.81.cn/yw_208727/16458712.html",
    )
    assert article.byline == "作者：李明"
    assert article.authors == ["李明"]


def test_a_bold_lead_that_is_not_the_headline_stays() -> None:
    article = parse(
        fixture_page(FIXTURES / "bold-lead-kept.json").read_bytes(),
        "https://www.81.cn/yw_208727/16458233.html",
    )
    assert article.paragraphs[0] == "以战领训，以训促战"


# -- discovery ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "article_id"),
    [
        ("http://www.81.cn/yw_208727/16459682.html", "16459682"),
        ("https://81.cn/hj_208557/16459370.html", "16459370"),
        ("http://www.81.cn/fyr/16459001.html", "16459001"),
        ("http://www.81.cn/yw_208727/index.html", None),
        ("http://www.81.cn/yw_208727/index_2.html", None),
        ("http://www.81.cn/yw_208727/16459682_2.html", None),  # page 2 of a long article
        ("http://tv.81.cn/yw_208727/16459682.html", None),
    ],
)
def test_article_urls(url: str, article_id: str | None) -> None:
    spider = PlaDailySpider()
    assert spider.is_article_url(url) is (article_id is not None)
    assert spider.article_id(url) == article_id


def test_listing_pages_stop_at_the_page_count() -> None:
    spider = PlaDailySpider()
    page = (SITES_ROOT / "81.cn/pages/yw_208727/index_2.html").read_bytes()
    listing = "https://www.81.cn/yw_208727/"
    response = HtmlResponse("https://www.81.cn/yw_208727/index_2.html", body=page, encoding="utf-8")
    following = spider.next_page(response, listing, 2)
    assert following is not None and following.url == "https://www.81.cn/yw_208727/index_3.html"
    assert (
        spider.next_page(
            response.replace(body=page.replace(b'content="3"', b'content="2"')), listing, 2
        )
        is None
    )


# -- a crawl of the replica ------------------------------------------------------------------


@pytest.fixture(scope="module")
def crawl(mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawler, Path]:
    out = tmp_path_factory.mktemp("archive")
    coroutine = sitecheck.crawl(mirror, out, PlaDailySpider)
    crawler: Crawler = pytest_twisted.blockon(defer.ensureDeferred(coroutine))
    return crawler, out


def test_crawl_archives_every_replica_article_once(
    crawl: tuple[Crawler, Path], mirror: MirrorServer
) -> None:
    crawler, out = crawl
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished"
    assert not stats.get("log_count/ERROR")
    manifest: dict[str, Any] = replica_manifest("81.cn")
    rows = {row["url"]: row for row in read_table(out).to_pylist()}
    assert len(rows) == read_table(out).num_rows
    assert sorted(rows) == sorted(a["url"] for a in manifest["articles"])
    assert not set(manifest["dead_urls"]) & set(rows)
    for expected in manifest["articles"]:
        row = rows[expected["url"]]
        assert row["title"] == expected["title"]
        assert row["spider"] == "pla_daily" and row["language"] == "zh"
        assert len(row["images"]) == expected["image_count"]
        assert sum(1 for i in row["images"] if i["caption"]) == expected["caption_count"]
        assert row["byline"] == expected["byline"]
        assert row["published_raw"] == expected["published_raw"]
        assert row["published_at"] == datetime.fromisoformat(expected["published"]).astimezone(UTC)
        assert "■" not in row["body"] and "摄" not in row["body"]
    # Paged by the page count: the third page of 要闻 is read, no fourth is asked for.
    assert mirror.requests_for(HOST, "/yw_208727/index_3.html", status=200) == 1
    assert mirror.requests_for(HOST, "/yw_208727/index_4.html") == 0
    assert mirror.requests_for(HOST, "/robots.txt", status=200) >= 1
