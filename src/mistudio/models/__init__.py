"""Models domain: get a causal LM onto the machine (hub, folder, GGUF), quantize it, see inside it."""
