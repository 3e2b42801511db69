"""Training (torch, CPU) of binarized networks and their export to the network IR."""
