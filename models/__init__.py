"""Shipped data, installed as ``hwgen.models``: trained networks (IR, torch checkpoint, model
card, training history) and test-set slices. Read with :func:`hwgen.data.shipped`."""
