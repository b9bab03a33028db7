"""Offline replicas of the news sites, served over HTTP on loopback.

``server.MirrorServer`` serves the folders under ``sites/``; the downloader
middleware ``middleware.MirrorMiddleware`` sends a crawl's requests to it while
every other component keeps seeing the real sites' URLs. Tests and
``crawler demo`` use the pair so that no request ever leaves the machine.
"""
