"""Pure text functions: no Scrapy imports, usable on their own."""
