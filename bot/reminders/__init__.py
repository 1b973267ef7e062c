"""Reminders by the child's age (issue 16): schedule, consent desk, daily sweep, RQ jobs."""
