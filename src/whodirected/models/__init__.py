"""Features to a model: held-out units (labelled), heads, training, the unknown-director
thresholds (calibrate), evaluation, the evidence index, the model file and its predictions."""
