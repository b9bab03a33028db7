"""The exit statuses of the ``crawler`` command, defined once.

Scripts and cron mail read them; crawl-all documents which wins when several apply.
"""

EXIT_OK = 0
EXIT_FAILED = 1  # a spider or site did not finish cleanly; validate: the archive has problems
EXIT_USAGE = 2  # bad command line or input, or an archive that cannot be written
EXIT_BLOCKED = 3  # a site answered with a bot challenge
EXIT_ALARM = 4  # a site's run fell below its layout-alarm thresholds
EXIT_LOCKED = 5  # another run holds the lock
