"""Scrapy plumbing around the spiders: running them, middlewares and extensions, replaying stored pages, distributed crawling."""
