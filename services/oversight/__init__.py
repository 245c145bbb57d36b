"""Oversight: the violations of 第三十条 as reports, and the term data check (第二十七条):

- violations: each violation of 第三十条 as a query inside a subtree;
- reports: the reports, counted, grouped by school and listed;
- campaigns: the term data check, started by an authority and completed by each school.
"""
