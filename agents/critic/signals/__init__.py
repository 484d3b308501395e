"""Reading a training run's logged signals: rows (logrows, trl_logs), then rules by kind (training, spikes,
evals, rewards). Import the modules themselves; this package re-exports nothing so no import cycle forms."""
