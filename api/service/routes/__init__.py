"""The routes by resource: scenarios, runs, audits."""
