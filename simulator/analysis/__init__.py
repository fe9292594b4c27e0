"""Built on runs: sweeps and designs, dose-response, sensitivity, steady states, fitting, metrics, comparisons."""
