"""Every user action as a command: `allowed(actor, target)` says why not (None: allowed) and
`run(actor, target, **args)` checks, then calls the service. Views, the CLI and the buttons of
every page ask the same command (admin/base.run_command runs one and commits).

- base.py: the Command class;
- requests.py: a change request's page (decide, 强制干预, withdraw, evidence, 报到, 第十五条, print);
- pupils.py: the status changes offered on a pupil's page (one per request kind);
- rosters.py: the graduation roster (compile, assess, confirm, submit, submit late);
- records.py: certificates, 问题学籍, the official calendar.
"""

from services.commands.base import Command, first_refusal, refusals

__all__ = ["Command", "first_refusal", "refusals"]
