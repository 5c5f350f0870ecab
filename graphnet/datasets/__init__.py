"""Datasets: small generated ones a netdef can name, and recipes that prepare real ones."""
