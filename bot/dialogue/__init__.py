"""One turn of a conversation with a parent, as pure logic over ports.

turn (what a handler sees) -> conversation (safety, commands, privacy, case, flow, index) with
safety + triage/triage_rules + routing + classifier deciding danger and answers, answering and
privacy talking to the parent, ui and messages building LINE messages. ports.py names what a
conversation needs from its collaborators.
"""
