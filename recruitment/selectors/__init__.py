"""Reads for the recruitment app, one module per area. Writes live in recruitment.services."""
