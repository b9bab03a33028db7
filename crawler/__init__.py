"""Defence-news crawler: Scrapy spiders, cleaning pipelines and a Parquet archive."""

__version__ = "0.1.0"
