"""The coreference analysis (paper section 4.3): heads and baselines scored on mentions, and its pipeline."""
