"""Extraction and discovery for any news site, with no site-specific code."""
