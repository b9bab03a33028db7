"""A test-only spider for a site that answers every request with a bot challenge."""

from __future__ import annotations

from crawler.sites.base import NewsSpider


class ModGovSpider(NewsSpider):
    name = "modgov"
    site = "mod.gov.vn"
    language = "vi"
    allowed_domains = ["mod.gov.vn"]
    listing_urls = ("https://mod.gov.vn/home/news",)
    article_url_pattern = r"/home/detail/"
