"""Adapters: the real technology behind each port in bot/ports.py."""
