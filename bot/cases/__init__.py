"""Handing conversations to people: cases, business hours, notifications."""
