"""Fictional demo providers for development, demonstrations and benchmarks (a dev app).

``generator`` builds the rows (deterministic for a seed) from the reference data and the
vocabulary in ``fixtures/demo_vocabulary.json`` (``vocabulary``); ``manage.py load_demo`` saves
them through the write path.
"""
