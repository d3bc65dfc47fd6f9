"""Boxoffice: event ticketing and booking."""
