"""The `complaints` command: operate the system from a shell.

Exit status: 0 done, 2 invalid input (messages name the field), 3 conflict (stale or already
completed), 4 forbidden (wrong role). `--json` prints machine-readable output. One module per group of
commands: `shell` (what they share), `system`, `people`, `complaints`, `models`, `mail` (the mailbox's
incidents).
"""
from __future__ import annotations

import click

from web.cli import complaints, mail, models, people, system


@click.group()
def main() -> None:
    """Complaint-handling workflow system."""


for command in (system.init, people.users, people.tokens, complaints.start, complaints.tasks, complaints.show,
                complaints.complete, complaints.withdraw, models.validate_cmd, models.deploy_cmd, system.worker,
                system.mail_intake_cmd, system.incidents, mail.mail_incidents_cmd, system.clean_evidence,
                models.test_models, models.export_cmd, system.serve):
    main.add_command(command)
