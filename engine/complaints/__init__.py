"""The complaint desk: recording complaints and working their tasks (`services`), what follows a workflow step
(`progress`), the task lists (`worklist`), deadlines and the timer worker (`deadlines`, `timers`), deferral requests,
evidence, notes and contacts (`casework`), half-filled forms (`form_drafts`), the customer's link and survey
(`customer_link`), notifications and the outbox (`notifications`, `inbox`), search, reports and idempotency keys."""
