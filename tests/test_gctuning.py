"""The garbage-collector extension: frozen heap and threshold while a spider runs, restored after."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.crawling.gctuning import GcTuning


@pytest.fixture(autouse=True)
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)
    gc.unfreeze()


def extension(**settings: object) -> GcTuning:
    crawler = get_crawler(settings_dict=settings)
    return GcTuning.from_crawler(crawler)


def test_freezes_and_raises_threshold_while_open_then_restores() -> None:
    before = gc.get_threshold()
    tuning = extension(CRAWLER_GC_FREEZE=True, CRAWLER_GC_THRESHOLD=12_345)
    tuning.spider_opened()
    assert gc.get_freeze_count() > 1000  # modules, classes, functions of this process
    assert gc.get_threshold() == (12_345, *before[1:])
    assert tuning.stats is not None
    assert tuning.stats.get_value("crawler/gc/frozen_objects") == gc.get_freeze_count()
    tuning.spider_closed()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_two_crawls_in_one_process_restore_when_the_last_closes() -> None:
    before = gc.get_threshold()
    first = extension(CRAWLER_GC_THRESHOLD=9000)
    second = extension(CRAWLER_GC_THRESHOLD=9000)
    first.spider_opened()
    second.spider_opened()
    first.spider_closed()
    assert gc.get_threshold()[0] == 9000  # the second crawl still runs
    assert gc.get_freeze_count() > 0
    second.spider_closed()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_threshold_zero_keeps_pythons() -> None:
    before = gc.get_threshold()
    tuning = extension(CRAWLER_GC_FREEZE=True, CRAWLER_GC_THRESHOLD=0)
    tuning.spider_opened()
    assert gc.get_threshold() == before
    tuning.spider_closed()


def test_off_and_bad_values() -> None:
    with pytest.raises(NotConfigured):
        extension(CRAWLER_GC_FREEZE=False, CRAWLER_GC_THRESHOLD=0)
    with pytest.raises(ValueError, match="CRAWLER_GC_THRESHOLD"):
        extension(CRAWLER_GC_THRESHOLD=-1)


def test_project_settings_enable_it() -> None:
    from crawler import settings

    assert settings.EXTENSIONS["crawler.crawling.gctuning.GcTuning"] is not None
    assert settings.CRAWLER_GC_FREEZE is True
    assert settings.CRAWLER_GC_THRESHOLD > 700
