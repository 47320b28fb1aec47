"""The features domain: analyse a stored SAE over a tokenization, then browse, search and label its latents."""
