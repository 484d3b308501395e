"""The researcher: turns literature and the latest diagnosis into testable hypotheses."""
