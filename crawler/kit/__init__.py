"""Tools for adding a site: the new-site scaffold and fixture cases."""
