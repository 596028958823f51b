"""The complaint desk: recording complaints (`intake`) and working their tasks (`tasks`), what follows a workflow
step and the lock-load-change-record sequence every step goes through (`progress`), the task lists (`worklist`),
deadlines and the timer worker (`deadlines`, `timers`), deferral requests, evidence, notes, contacts and the staff
pages' views (`casework`), half-filled forms (`form_drafts`), the customer's link and survey
(`customer_link`), notifications and the outbox (`notifications`, `inbox`), search, reports and idempotency keys."""
