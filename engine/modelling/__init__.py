"""What process owners do with models: check and deploy bundles (`deployment`), read uploads (`uploads`), edit per-user
drafts (`drafts`), compare versions (`diff`), run a model's own test cases (`cases`), read its decision tables
(`decision_tables`) and move running complaints to a newer version (`migration`)."""
