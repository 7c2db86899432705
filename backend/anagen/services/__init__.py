"""Business rules. Services take plain arguments (never `request` or `g`) so the API,
the CLI, the dispatcher and the tests all call the same code."""
