"""The local room: the whole stack against the sandbox on one machine.

`stack.py` starts the bot, the sandbox and a target repository in one call (`orch sandbox`, the
browser tests); `demo.py` is `orch demo`: the sandbox page for a person, or a scripted walkthrough
when nobody is at a terminal.
"""
