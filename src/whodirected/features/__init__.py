"""Frames to features: images read safely, style descriptors, the backbone registry, the
feature cache (embed), datasets of frames, and the block-unit geometry (vectors)."""
