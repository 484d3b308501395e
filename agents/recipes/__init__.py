"""Training recipes, read by the trainer (to configure a run) and the search (to price one).

- `settings`: the settings table, one row per model size and device, each value citing its source.
- `memory`: the memory estimate (weights, gradients, optimizer state, activations, generation).
"""
