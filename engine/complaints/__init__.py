"""The complaint desk. Recording: `intake` (the one use case every entry point calls), `self_service` (the public
form and e-mail, `mail_intake` reads the mailbox), `classify` (the first classification), `customers` (the customer
record, repeats, flags). Working: `tasks`, `progress` (what follows a workflow step; `locked_case` is the
lock-load-change-record sequence every step goes through), `worklist` (task lists), `desk` (the first page),
`rounds` (answers by round for the forms), `form_drafts`, `casework` (notes, contacts, the staff pages' views),
`evidence`, `remedies` (refunds, returns, courier claims), `responsible` (the responsible person), `deferrals`,
`withdrawal` (the customer withdrew: 撤诉).
Time: `deadlines` (warnings, breaches, the penalty ledger) and `timers` (the batched timer worker). The customer:
`customer_link` (private link and survey). Telling people: `notifications` (the outbox) and `inbox`. Reading:
`search`, `reports`, `report_review` (GM review and the departments' acknowledgement). `idempotency` keys."""
