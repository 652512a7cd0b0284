"""The mathematics of the fund: one module per rule family.

Index letters, used everywhere: p project, t start year, y calendar year, s sector,
n nation (US, JP), i investor, r rule.
"""
