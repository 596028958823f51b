"""Running BPMN: SpiffWorkflow in memory (`runtime`), state in and out of the database (`store`), the sandbox that
every model script and expression runs in, in isolated worker processes (`sandbox/`), deployed versions as the
program needs them (`versions`), and the checks a bundle must pass before it is deployed (`deploy`, `support`,
`model_xml`, `classification_rules`; `functions` is what model code may call). Nothing here knows what a complaint is
beyond the process variables it reads."""
