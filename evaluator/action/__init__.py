"""The GitHub Action: its inputs, the event, the GitHub client, publish mode and the runner's outputs.
entrypoint.py at the repository's root (what action.yml runs) calls `evaluator.action.main.main`."""
