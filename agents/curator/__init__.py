"""The curator: builds training data with a script it leaves in the workspace, and checks it."""
