"""What a run means: the model files, the regimen grammar, interventions (clamp, scale, cut), composition and units."""
