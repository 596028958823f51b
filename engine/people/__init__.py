"""Who acts: roles and departments (`roles`), every permission check outside the workflow's own tasks (`access`),
staff accounts (`users`) and personal API tokens (`tokens`)."""
