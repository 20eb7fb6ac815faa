"""Training engine: Trainer with events, losses (incl. heatmap loss), schedules, checkpoints, sweeps."""
