"""Films to frames: decoding (video), choosing timestamps (sampling), filters, finding the
films of a library (sources), the manifest, and the per-film step with its scheduler (library)."""
