"""The join side of blindlink: verified artifacts in, matching, measurement, audit, reports.

Its matching and aggregation modules touch no key material.
"""
