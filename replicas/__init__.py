"""Replica build scripts (not installed): they turn replicas/sources/ into crawler/mirror/sites/."""
