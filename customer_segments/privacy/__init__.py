"""Data-subject rights over the warehouse: what the project holds about one person.

`access.export_person` gathers everything the build holds about one person
(identifiers, traits, scores, segments and why) as a JSON-ready document, for
access and portability requests (`segments export-person`). It reads them through
the person lookup (customer_segments/lookup.py), which `segments explain` shares.
"""
