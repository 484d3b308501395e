"""The critic: owns the held-out split, evaluates honestly, diagnoses runs, keeps the report."""
