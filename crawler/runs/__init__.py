"""Scheduled runs (crawl-all): configuration, the run manifest and lock, the layout alarm, schedules."""
