"""Announcements to parents in their own language (issue 16): segment, translation, multicast delivery."""
