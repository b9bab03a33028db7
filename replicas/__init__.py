"""Replica builds, not installed with the package: ``replicas/<spider>.py`` turns
``sources/<site>/`` into ``crawler/mirror/sites/<site>/`` on the shared ``skeleton``,
its pages' markup in ``sources/<site>/templates/``.

``python -m replicas`` rebuilds every replica; ``--check`` writes nothing and names
each file that differs from what the sources build. ``sources/<site>/replica.md`` is
the site's account of what is real and what is invented, which its built
PROVENANCE.md carries between the shared opening and the table of pages.
"""
