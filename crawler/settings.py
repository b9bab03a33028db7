"""Scrapy settings. Project settings share the ``CRAWLER_`` prefix."""

BOT_NAME = "crawler"
SPIDER_MODULES = ["crawler.sites"]
NEWSPIDER_MODULE = "crawler.sites"

# Politeness.
USER_AGENT = "defence-news-crawler/0.1 (news archive; obeys robots.txt)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

# Limits: article pages are tens of kilobytes.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Each request that failed for good is logged in one line by crawler.crawling.failures.CountFailures,
# with its kind (DNS lookup failed, HTTP 503, ...); Scrapy's own "Gave up retrying" line would repeat it.
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"
REDIRECT_MAX_TIMES = 5  # a redirect loop ends here

# Nothing listens for remote control (Scrapy 2.19 starts an HTTP server that runs code
# sent to it, on by default); only HTTP(S) is fetched.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "crawler.crawling.gctuning.GcTuning": 0,
}
DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None}
# Only public addresses are connected to, checked after resolution (crawler/crawling/netguard.py).
TWISTED_DNS_RESOLVER = "crawler.crawling.netguard.PublicOnlyResolver"
CRAWLER_ALLOW_PRIVATE_NETWORKS = ""  # CIDR networks allowed anyway, e.g. "10.0.0.0/8,fd00::/8"

DOWNLOADER_MIDDLEWARES = {
    "crawler.crawling.failures.CountFailures": 10,  # outermost: sees what failed for good
    "crawler.crawling.netguard.PrivateAddressMiddleware": 90,  # after the offsite filter, before robots.txt
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.crawling.middlewares.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.crawling.middlewares.RobotsTxtMiddleware": 100,
    "crawler.crawling.middlewares.CookieGateMiddleware": 650,
    "crawler.crawling.middlewares.ChallengeMiddleware": 640,
    "crawler.mirror.middleware.MirrorMiddleware": 950,
}

# Keeps the page of every article a spider yields as WARC under <archive>/raw/ (crawler/archive/warc.py).
SPIDER_MIDDLEWARES = {
    "crawler.crawling.raw_pages.RawPagesMiddleware": 950,
}

# The pipeline order, defined here only: crawler.pipelines.clean runs the same steps in it.
ITEM_PIPELINES = {
    "crawler.pipelines.normalise.NormaliseText": 100,
    "crawler.pipelines.layout.DropLayoutTokens": 200,
    "crawler.pipelines.captions.SeparateCaptions": 300,
    "crawler.pipelines.byline.ExtractByline": 400,
    "crawler.pipelines.validate.Validate": 500,
    "crawler.pipelines.dedupe.Deduplicate": 600,
    "crawler.pipelines.archive.ParquetArchive": 900,
}

LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"

# Project settings.
CRAWLER_ARCHIVE_DIR = "output"  # archive root; rows go under <dir>/articles/
CRAWLER_ARCHIVE_FLUSH_ROWS = 2000  # rows buffered before a file is written
CRAWLER_RUN_ID = ""  # empty: a fresh id per run
CRAWLER_MIRROR_URL = ""  # e.g. http://127.0.0.1:8123: fetch from the local replica
CRAWLER_SINCE = ""  # ISO date: skip articles published before
CRAWLER_UNTIL = ""  # ISO date: skip articles published after
CRAWLER_REFETCH = False  # fetch articles the archive already holds (normally skipped)
CRAWLER_MAX_LISTING_PAGES = 500  # pages of one listing at most (endless pagination, calendar traps)
CLOSESPIDER_PAGECOUNT = 100_000  # pages of one run at most (crawl-all sets its own per site)
CRAWLER_FEED_MAX_ITEMS = 1_000  # items read per RSS/Atom feed; the rest are not read
CRAWLER_SITEMAP_MAX_ENTRIES = 50_000  # entries read per sitemap (the sitemap protocol's maximum)
CRAWLER_SITEMAP_MAX_DEPTH = 3  # levels of nested sitemap indexes followed below the first sitemap
CRAWLER_STALE_PAGES = 1  # stop paging a listing after this many pages with nothing new
CRAWLER_RAW_PAGES = True  # keep every fetched article page as WARC under <archive>/raw/
CRAWLER_RAW_FSYNC_SECONDS = 1.0  # fsync the WARC files this often (0: after every page)
CRAWLER_RETRY_BACKOFF = 2.0  # seconds before the first retry, doubled for each next one
CRAWLER_RETRY_BACKOFF_MAX = 60.0
CRAWLER_RETRY_AFTER_MAX = 300.0  # a longer Retry-After is cut to this
CRAWLER_COOKIE_GATE_TRIES = 2  # re-sends of a request a cookie gate redirected to itself

# Distributed crawling (crawler/crawling/distributed/, `crawler crawl --redis URL`); empty: alone.
ADDONS = {"crawler.crawling.distributed.Distributed": 100}  # does nothing without CRAWLER_REDIS_URL
CRAWLER_REDIS_URL = ""  # redis://HOST:PORT/DB: share the queue and duplicate filter
CRAWLER_REDIS_IDLE_SECONDS = 10.0  # a worker stops once the shared crawl was idle this long
CRAWLER_REDIS_HEARTBEAT = 1.0  # seconds between a worker's heartbeats
CRAWLER_REDIS_WORKER_TIMEOUT = 30.0  # a worker silent this long is dead; its requests go back

# Scrapy starts CONCURRENT_ITEMS asyncio tasks for every callback's output (100 by default,
# about 15% of a crawl's time, see bench/RESULTS.md); the pipelines are synchronous.
CONCURRENT_ITEMS = 8
# Scrapy re-reads and re-parses a generator callback's source for every response to warn about
# `return value` (its cache is keyed by the bound method, a new object per request): ~2.5% of a
# crawl. tests/test_sites.py checks every spider's callbacks once instead.
WARN_ON_GENERATOR_RETURN_VALUE = False

# Freeze the start-up heap and collect the young generation less often (crawler/crawling/gctuning.py):
# the collector walked ~130,000 long-lived objects again and again, ~14% of a crawl's time.
CRAWLER_GC_FREEZE = True
CRAWLER_GC_THRESHOLD = 10_000  # 0: Python's default (700)
