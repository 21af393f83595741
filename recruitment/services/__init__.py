"""Writes for the recruitment app, one module per area. Reads live in recruitment.selectors."""
