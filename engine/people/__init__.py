"""Who acts: roles and departments (`roles`), every permission check outside the workflow's own tasks (`access`),
staff accounts and their administration (`users`), department heads' deputies (`deputies`) and personal API tokens
(`tokens`)."""
