"""The pipeline: each user's events in order, one transaction per event, answers delivered.

events (what an event is) -> processing (drain a user's list, run the handler in a transaction)
-> delivery (reply or push, retries, outages) inside the RQ worker (worker, worker_health,
faults, sweep); quota watches LINE's monthly message count; offline runs the same turns without
Redis or LINE for the command-line tools.
"""
